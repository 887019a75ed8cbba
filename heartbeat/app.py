"""Wiring: from a config file to the objects the CLI and the daemon use."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from core.config import Config, Connection
from core.errors import Refused
from heartbeat.config import loader as config_module
from heartbeat.engine.beat import Heartbeat, Monitor
from heartbeat.services.categories import CategoryManager
from heartbeat.services.tasks import TaskManager
from reports import action_log
from tasks.database import create_state_engine, ensure_schema
from tasks.store import TaskStore
from tasks.stores.outbox import Subscriptions
from tasks.stores.overview import Overview
from tasks.stores.registry import Registry


class App:
    """Loads the config once and opens the state database (upgrading its schema) on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        return config_module.load(config_module.find_config_path(self.config_path))

    @cached_property
    def store(self) -> TaskStore:
        engine = create_state_engine(self.config.database_url)
        ensure_schema(engine)
        return TaskStore(engine, action_log, Subscriptions.of(self.config.notify),
                         dead_after=timedelta(seconds=self.config.dead_after))

    @cached_property
    def registry(self) -> Registry:
        """The daemon registry, on an engine of its own (its writes never wait for the tick's pool)."""
        self.store  # noqa: B018 (the schema is upgraded first)
        return Registry(create_state_engine(self.config.database_url))

    @cached_property
    def overview(self) -> Overview:
        """Whole-database counts for `status` and the metrics."""
        return self.store.overview

    @cached_property
    def tasks(self) -> TaskManager:
        """The task verbs (heartbeat.services.tasks), as every front door calls them."""
        return TaskManager(self.config, self.store)

    @cached_property
    def categories(self) -> CategoryManager:
        """The category mapping's verbs (heartbeat.services.categories)."""
        return CategoryManager(self.config, self.store)

    def heartbeat(self, stop: threading.Event | None = None, monitor: Monitor | None = None) -> Heartbeat:
        return Heartbeat(self.config, self.store, stop=stop, monitor=monitor)

    def demo_shop(self, name: str | None) -> Connection:
        """The connection `demo init` fills: the named one, else the only prestashop connection
        on a SQLite file whose name contains 'demo'."""
        shops = {n: c for n, c in self.config.connections.items() if c.type == "prestashop"}
        if name:
            if name not in shops:
                raise Refused(f"no prestashop connection named {name!r}; known: {', '.join(shops) or 'none'}")
            return shops[name]
        demos = [c for c in shops.values()
                 if c.options["url"].startswith("sqlite") and "demo" in Path(c.options["url"]).name]
        if len(demos) != 1:
            raise Refused("pass --connection NAME: the config has "
                          f"{len(demos)} SQLite prestashop connections named *demo*")
        return demos[0]
