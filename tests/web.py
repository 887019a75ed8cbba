"""The web page's test set-up: a TaskManager over a small demo shop (an export profile, on the
parametrized state database) and the web application over it, with a known password and API token."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from connectors.prestashop import create_demo_shop
from core.config import Profile
from heartbeat.services.tasks import TaskManager
from heartbeat.web.app import create_app
from heartbeat.web.auth import hash_password
from tests.helpers import make_config, make_heartbeat

PASSWORD = "correct horse battery staple"
TOKEN = "test-token-0123456789abcdef"
PASSWORD_HASH = hash_password(PASSWORD)  # once: argon2 is slow on purpose
PRODUCTS = 40


def make_tasks(tmp_path: Path, state_url: str, clock, products: int = PRODUCTS) -> TaskManager:
    """The task verbs over a demo shop on SQLite; `.beat` is a heartbeat on `clock` to drive ticks."""
    shop = f"sqlite:///{tmp_path / 'demo-shop.db'}"
    create_demo_shop(shop, products=products, seed=42)
    config = make_config(tmp_path, state_url, shop, name="catalogue", batch_size=10)
    daily = Profile(name="nightly", kind="export", source="shop", batch_size=500, schedule="30 2 * * *",
                    options=dict(config.profiles[0].options))
    config = dataclasses.replace(config, profiles=(*config.profiles, daily))
    beat = make_heartbeat(config, clock)
    tasks = TaskManager(config, beat.store, clock)
    tasks.beat = beat
    return tasks


def make_app(tasks: TaskManager, clock, password_hash: str | None = PASSWORD_HASH, token: str | None = TOKEN,
             refresh_seconds: float = 3.0):
    return create_app(tasks, password_hash=password_hash, api_token=token, secret_key=b"k" * 32, clock=clock,
                      refresh_seconds=refresh_seconds)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def log_in(client, name: str, password: str) -> str:
    """Logs `client` in as `name` (blank: the [web] password); returns the session's CSRF token."""
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/").text)
