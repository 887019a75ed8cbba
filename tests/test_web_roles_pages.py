"""Every page shows each role exactly the actions the guard lets it use, on SQLite and MariaDB, in
process (Starlette's TestClient).

A world with something on every page (a task of each kind and state, a fix to undo, a paused
profile, a notification and a delivery to retry, a mapping row, a page rule, an override, a user
with a token); then, logged in as a viewer, an operator and an admin, every page route of
heartbeat/web/roles.py is read with real ids, and every control found on it is put to the guard
itself: each `<form>` (method, action), each element a script sends from (`data-method`,
`data-action`: the Categories page) or reads from (`data-url`), and each link. A GET is sent as
is; a change is sent without its CSRF token, which the guard checks only after the role, so that
"missing or wrong CSRF token" means the role was let through and nothing was done. Every control
must lead to a declared route the role may use, and each role must be offered every page action
its role allows: the admin sees all of them, so the test is not vacuous."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.testclient import TestClient

from core.actor import Actor, Role
from core.config import Connection, Notify, Profile
from heartbeat.services.categories import SAMPLE_TAXONOMY
from heartbeat.services.category_table import CategoryTable
from heartbeat.services.users import UserManager, hash_password
from heartbeat.web import roles
from heartbeat.web.roles import ROLES, TASK
from tasks.stores.outbox import Subscriptions
from tests.helpers import PRESTASHOP_PRODUCT_HEADERS, execute, prestashop_row, write_csv
from tests.web import log_in, make_app, make_tasks

SECRET = "a long enough password"
PEOPLE = {Role.viewer: "vera", Role.operator: "otto", Role.admin: "ada"}
ME = Actor("test", "cli")
HOST = "http://testserver"
# placeholders a script fills in from the page's fields (categories.js, #set-override)
FILLED_IN = {"{product}": "1", "{column}": "google"}
# reached by the redirect of a fix's button, never by a link: not expected among the controls
NOT_LINKED = {("GET", "/connections/{name}/maintenance/confirm")}


@pytest.fixture
def world(tmp_path, db_url, clock):
    """The task verbs over a demo shop with something on every page; `.ids` names what the pages
    are read with."""
    tasks = make_tasks(tmp_path, db_url, clock)
    config = tasks.config
    shop = config.connections["shop"].options["url"]
    feed = tmp_path / "feed.csv"
    write_csv(feed, [PRESTASHOP_PRODUCT_HEADERS, prestashop_row(**{
        "Reference #": "DEMO-000001", "Price tax excluded": "9.99", "Quantity": "3"})])
    platform = Connection("platform", "http", {
        "url": "http://127.0.0.1:1/imports", "method": "PUT", "auth_header": "Authorization",
        "auth_env": None, "gzip": False, "connect_timeout": 2.0, "timeout": 0.5, "max_attempts": 8,
        "retry_delay": 60.0, "max_retry_delay": 3600.0})
    source = Connection("feed", "csv", {"url": None, "path": str(feed), "delimiter": None, "quotechar": '"',
                                        "encoding": None, "mapping": None})
    export = dict(config.profiles[0].options)
    supplier = Profile(name="supplier", kind="import", source="feed", target="shop", batch_size=4,
                       options={"match_by": "reference", "fields": ["price", "quantity", "active"],
                                "allow_empty": False})
    delivered = Profile(name="delivered", kind="export", source="shop", target="platform", batch_size=50,
                        options=export)
    nightly = dataclasses.replace(config.profiles[1], options={
        **export, "category_column": "google", "category_required": True})
    hook = Notify(name="hook", on=frozenset({"completed"}), url="https://127.0.0.1:1/hook")
    config = dataclasses.replace(
        config, connections={**config.connections, "platform": platform, "feed": source},
        profiles=(config.profiles[0], nightly, supplier, delivered), notify=(hook,))
    tasks.config = config
    tasks.store.notify = Subscriptions.of(config.notify)
    tasks.beat.reload(config)

    execute(shop, "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9",  # an error item
            "UPDATE ps_product SET reference = ' ' || reference || ' ' WHERE id_product = 3")  # to fix
    errors, imported, sent = tasks.queue("catalogue"), tasks.queue("supplier"), tasks.queue("delivered")
    analysis = tasks.run_maintenance("shop", "analyze-integrity", "products")
    tasks.beat.run_until_idle()
    fix = tasks.run_maintenance("shop", "fix-integrity", "products")
    tasks.beat.run_until_idle()
    pending = tasks.queue("catalogue")  # last: it stays pending, with its Kill button
    tasks.pause("delivered")  # one profile to resume, the others to pause
    assert tasks.show(errors.id).progress.error and tasks.show(fix.id).export_bytes
    assert tasks.store.deliveries.get(sent.id).status.value != "delivered"
    assert [n.status for n in tasks.store.outbox.list()][:1] == ["pending"]

    table = CategoryTable(config, tasks.store, clock)
    table.load_taxonomy("google", SAMPLE_TAXONOMY, actor=ME)
    table.put_row(None, {"shop": "6", "google": "5181"}, None, actor=ME)
    table.put_rules([{"column": "google", "category": "922", "reference_prefix": "NOPE-"}], actor=ME)
    table.set_override(1, "google", "5181", "shop", actor=ME)
    unmapped = table.unmapped_json("nightly")[0]["id_category"]

    secret = hash_password(SECRET)  # argon2 is slow on purpose: hash once
    for role, name in PEOPLE.items():
        tasks.store.users.add(name, role.name, secret, clock.now())
    tasks.store.users.add("target", "viewer", secret, clock.now())
    users = UserManager(tasks.store.users, tasks.audit, clock, None, config.web)
    users.new_token("target", ME, "ci")  # a token to revoke
    tasks.ids = {"tasks": [errors.id, imported.id, sent.id, analysis.id, fix.id, pending.id],
                 "analysis": analysis.id, "fix": fix.id, "unmapped": unmapped}
    return tasks


def pages(ids: dict) -> dict[str, list[str]]:
    """Each page route of the table -> the URLs it is read with."""
    each = ids["tasks"]
    return {
        "/": ["/", "/?status=pending"], "/tasks/rows": ["/tasks/rows"],
        TASK: [f"/tasks/{i}" for i in each], TASK + "/live": [f"/tasks/{i}/live" for i in each],
        TASK + "/delete": [f"/tasks/{ids['fix']}/delete?next=/"],
        "/profiles": ["/profiles"], "/audit": ["/audit"], "/users": ["/users"],
        "/connections": ["/connections"],
        "/connections/{name}": ["/connections/shop", "/connections/platform"],
        "/connections/{name}/maintenance": ["/connections/shop/maintenance",
                                            f"/connections/shop/maintenance?task={ids['analysis']}"],
        "/connections/{name}/maintenance/confirm": [
            "/connections/shop/maintenance/confirm?operation=fix-integrity&scope=products"],
        TASK + "/undo": [f"/tasks/{ids['fix']}/undo", f"/tasks/{ids['analysis']}/undo"],
        "/configure": ["/configure"],
        "/categories": ["/categories", "/categories?profile=nightly"],
        "/categories/products": [f"/categories/products?profile=nightly&category={ids['unmapped']}"],
    }


def page_routes() -> set[str]:
    return {path for (method, path), needed in ROLES.items()
            if method == "GET" and needed is not roles.PUBLIC and not path.startswith("/api/")}


def page_actions() -> dict[tuple[str, str], Role]:
    """What the pages offer, route -> its role: every change but the API's own (the Categories
    page's script sends to /api/categories and /api/products), and every page above a viewer's."""
    return {(method, path): needed for (method, path), needed in ROLES.items()
            if needed is not roles.PUBLIC and (method, path) not in NOT_LINKED
            and (not path.startswith("/api/") or path.startswith(("/api/categories", "/api/products")))
            and (method != "GET" or (needed > Role.viewer and not path.startswith("/api/")))}


class Controls(HTMLParser):
    """The (method, URL, what) of every form, scripted control, script's read and link of a page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.found.append(((a.get("method") or "get").upper(), a.get("action") or "", "<form>"))
        if "data-action" in a:
            self.found.append((a["data-method"].upper(), a["data-action"], f"<{tag} data-action>"))
        if "data-url" in a:
            self.found.append(("GET", a["data-url"], f"<{tag} data-url>"))
        if tag == "a" and a.get("href") and not a["href"].startswith("#"):
            self.found.append(("GET", a["href"], "<a>"))


def controls(html: str, page: str) -> list[tuple[str, str, str]]:
    parser = Controls()
    parser.feed(html)
    out = []
    for method, target, what in parser.found:
        for hole, value in FILLED_IN.items():
            target = target.replace(hole, value)
        url = urljoin(HOST + page, target)
        assert url.startswith(HOST + "/"), f"{what} on {page} leaves the site: {target}"
        parts = urlsplit(url)
        out.append((method, parts.path + (f"?{parts.query}" if parts.query else ""), what))
    return out


def guard_lets_through(client, method: str, url: str) -> tuple[bool, str]:
    """Whether the guard lets this session use `method url`, and its answer: a GET is sent; a
    change goes without its CSRF token, refused after the role was let through."""
    if method == "GET":
        answer = client.get(url)
        to_login = answer.status_code == 303 and answer.headers["location"].startswith("/login")
        return answer.status_code not in (401, 403) and not to_login, _said(answer)
    answer = client.request(method, url)
    return answer.status_code == 403 and "CSRF" in answer.text, _said(answer)


def _said(answer) -> str:
    return f"{answer.status_code} {answer.text[:120]}"


def test_every_page_shows_each_role_exactly_what_the_guard_lets_it_use(world, clock):
    app = make_app(world, clock)
    routes = app.app.routes
    urls = pages(world.ids)
    assert set(urls) == page_routes(), "read the new page routes here, with real ids"
    offered_by_role = {}
    for role, name in PEOPLE.items():
        offered, judged = set(), {}
        with TestClient(app, follow_redirects=False) as client:
            log_in(client, name, SECRET)
            for route, each in urls.items():
                if role < ROLES[("GET", route)]:
                    continue  # refused with the reason: tests/test_web_roles.py
                for page in each:
                    answer = client.get(page)
                    assert answer.status_code == 200, (role.name, page, answer.text[:200])
                    for method, url, what in controls(answer.text, page):
                        declared = roles.route_of(routes, method, urlsplit(url).path)
                        assert declared is not None, f"{what} on {page} leads nowhere: {method} {url}"
                        offered.add((method, declared))
                        key = (method, url.split("?")[0] if method != "GET" else url)
                        if key not in judged:
                            judged[key] = guard_lets_through(client, method, url)
                        allowed, said = judged[key]
                        assert allowed, f"{role.name} is offered {what} on {page}: {method} {url} -> {said}"
        offered_by_role[role] = offered
    for role, offered in offered_by_role.items():
        expected = {action for action, needed in page_actions().items() if needed <= role}
        missing = expected - offered
        assert not missing, f"{role.name} is not offered {sorted(missing)} on any page"
    assert {action for action in offered_by_role[Role.viewer] if action[0] != "GET"} == {("POST", "/logout")}


def read_only_part(html: str, marker: str) -> str:
    return html.split(marker, 1)[1]


def test_a_viewer_reads_the_category_page_and_the_maintenance_tab_with_a_notice_and_no_field(world, clock):
    app = make_app(world, clock)
    seen = {}
    for role in (Role.viewer, Role.operator):
        with TestClient(app, follow_redirects=False) as client:
            log_in(client, PEOPLE[role], SECRET)
            seen[role] = {page: client.get(page).text for page in (
                "/categories?profile=nightly", f"/categories/products?profile=nightly&category="
                f"{world.ids['unmapped']}", "/connections/shop/maintenance", "/profiles")}
    categories = read_only_part(seen[Role.viewer]["/categories?profile=nightly"], 'id="categories"')
    assert 'id="read-only"' in categories and "<input" not in categories and "data-action" not in categories
    assert "NOPE-" in categories and "5181" in categories  # the rules, the table and the override are read
    products = seen[Role.viewer][f"/categories/products?profile=nightly&category={world.ids['unmapped']}"]
    assert "Read only" in products and "<input" not in read_only_part(products, 'id="categories"')
    assert 'id="read-only"' in seen[Role.viewer]["/connections/shop/maintenance"]
    assert "your role does not run or pause profiles" in seen[Role.viewer]["/profiles"]
    editing = read_only_part(seen[Role.operator]["/categories?profile=nightly"], 'id="categories"')
    assert 'id="read-only"' not in editing
    assert editing.count('data-method="PUT"') >= 3  # a cell, the rules, the override
    assert 'id="read-only"' not in seen[Role.operator]["/connections/shop/maintenance"]
