"""Named users, their tokens, the audit trail and its retention, through the verbs and the CLI
(`heartbeat web user ...`, `heartbeat audit list`), on SQLite and MariaDB; the schema upgrade."""

from __future__ import annotations

import getpass
import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors.prestashop import create_demo_shop
from core.actor import DAEMON, Actor, Role, cli_actor
from core.config import Web
from core.errors import Refused, UserNotFound
from heartbeat.config import schedule
from heartbeat.engine import history
from heartbeat.services.categories import CategoryManager
from heartbeat.services.users import UserManager, sha256
from tasks.database import create_state_engine, ensure_schema
from tasks.stores.audit import DETAIL_CHARS
from tests.helpers import make_config, make_heartbeat, manager, raw, upgrade_to
from tests.processes import HEARTBEAT, hb, make_project
from tests.web import PASSWORD_HASH

ME = Actor("tester", "cli")
SECRET = "a long enough password"


@pytest.fixture
def tasks(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=12)
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=5), clock)
    tasks = manager(beat)
    tasks.beat = beat
    return tasks


@pytest.fixture
def users(tasks, clock):
    return UserManager(tasks.store.users, tasks.audit, clock, PASSWORD_HASH, tasks.config.web)


def test_users_are_added_once_with_a_valid_name_role_and_password(users, db_url):
    user = users.add("alice", "operator", SECRET, ME)
    assert (user.name, user.role) == ("alice", "operator") and user.password_hash.startswith("$argon2id$")
    with pytest.raises(Refused, match="user 'alice' exists already"):
        users.add("alice", "viewer", SECRET, ME)
    with pytest.raises(Refused, match="at least 12 characters"):
        users.add("bob", "viewer", "short", ME)
    with pytest.raises(Refused, match="role must be one of viewer, operator, admin, not 'boss'"):
        users.add("bob", "boss", SECRET, ME)
    with pytest.raises(Refused, match="user name 'no spaces'"):
        users.add("no spaces", "viewer", SECRET, ME)
    with pytest.raises(UserNotFound, match="user 'nobody' not found"):
        users.remove("nobody", ME)
    assert [u.name for u in users.list()] == ["alice"]


def test_tokens_are_shown_once_and_stored_as_a_hash(users, db_url, clock):
    users.add("alice", "viewer", SECRET, ME)
    token, secret = users.new_token("alice", ME)
    assert token.label == "token-1" and len(secret) > 40
    stored = raw(db_url, "SELECT hash, label FROM hb_tokens")
    assert [tuple(r) for r in stored] == [(sha256(secret), "token-1")] and secret not in str(stored)
    actor = users.token(secret, "10.0.0.1")
    assert (actor.name, actor.role, actor.via, actor.token) == ("alice", Role.viewer, "api", "token-1")
    with pytest.raises(Refused, match="has a token labelled 'token-1' already"):
        users.new_token("alice", ME, "token-1")
    users.new_token("alice", ME, "ci")
    assert [t.label for t in users.tokens("alice")] == ["ci", "token-1"]
    users.revoke("alice", "token-1", ME)
    assert users.token(secret, None) is None
    with pytest.raises(Refused, match="has no token labelled 'token-1'"):
        users.revoke("alice", "token-1", ME)
    users.remove("alice", ME)  # with their tokens and sessions
    assert raw(db_url, "SELECT count(*) FROM hb_tokens")[0][0] == 0


def test_login_sessions_are_the_servers_and_end_on_logout_idle_and_changes(users, clock):
    users.add("alice", "operator", SECRET, ME)
    assert users.login("alice", "wrong password!", None) is None and users.login("eve", SECRET, None) is None
    first, second = users.login("alice", SECRET, "1.2.3.4"), users.login("alice", SECRET, None)
    assert users.session(first.session_id, "1.2.3.4") == Actor("alice", "web", Role.operator, "1.2.3.4")
    users.set_role("alice", "viewer", ME, keep_session=first.session_id)
    assert users.session(first.session_id, None).role is Role.viewer  # the role as it is now
    assert users.session(second.session_id, None) is None  # ended by the change
    clock.advance(12 * 3600 + 1)
    assert users.session(first.session_id, None) is None  # idle longer than [web] session_idle
    config = users.login("", "correct horse battery staple", None)
    assert (config.name, config.role) == ("admin", Role.admin)
    other = UserManager(users.store, users.audit, clock, "$argon2id$another", Web())
    assert other.session(config.session_id, None) is None  # the config's password changed


def test_keep_history_prunes_the_audit_trail_and_records_the_daemons_pruning(tasks, clock):
    task = tasks.queue("export-products")
    tasks.beat.run_until_idle()
    old = tasks.audit.list()[0]
    clock.advance(3 * 86400)
    tasks.kill(tasks.queue("export-products").id, actor=ME)
    removed = history.keep_history(tasks.store, 2, clock.now())
    assert [t.id for t in removed.tasks] == [task.id]
    entries = tasks.audit.list()
    assert old.id not in [e.id for e in entries]
    assert (entries[0].actor, entries[0].via, entries[0].action, entries[0].target) == (
        "daemon", "daemon", "task.prune", "tasks:1")
    assert entries[0].detail == f"keep_history 2 days: tasks {task.id}"
    assert [e.action for e in entries[1:]] == ["task.kill", "profile.run"]


def test_a_task_the_schedule_creates_is_recorded_as_the_daemons_once(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=12)
    config = make_config(tmp_path, db_url, shop_url, schedule="*/5 * * * *", timezone="Europe/Paris")
    beat = make_heartbeat(config, clock)
    beat.tick(clock.now())  # 09:00:30: the first slot is 09:05
    assert beat.store.audit.list() == []  # no task yet, nothing to record
    beat.tick(clock.advance(280))  # 09:05:10
    (task,) = beat.store.list()
    (entry,) = beat.store.audit.list()
    assert (entry.actor, entry.via, entry.address, entry.action, entry.target) == (
        "daemon", "daemon", None, "profile.run", "profile:export-products")
    assert entry.detail == f"task {task.id}: schedule */5 * * * * (Europe/Paris), slot 2026-11-02T09:05:00Z"
    assert entry.at == clock.now()
    slot, profile = datetime(2026, 11, 2, 9, 5, tzinfo=UTC), config.profiles[0]
    late = beat.store.create_scheduled(profile, schedule.key(profile), slot, slot,  # another daemon: taken
                                       slot + timedelta(minutes=5), clock.now(), None, by=DAEMON)
    assert late is None and len(beat.store.audit.list()) == 1
    manager(beat).queue("export-products", actor=ME)  # by hand: the person's, in the same form
    by_hand, scheduled = beat.store.audit.list()
    assert (by_hand.actor, by_hand.action) == ("tester", "profile.run") and by_hand.target == entry.target
    assert scheduled == entry


def test_the_upgrade_adds_retry_of_and_the_users_tables(tmp_path):
    engine = create_state_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade_to(engine, "0013")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO hb_tasks (profile, kind, status, triggered_by, created_at, scheduled_at, "
            "batch_size, total, pending, processed, skipped, cancelled, error, handled_upto, batches, "
            "work_seconds, export_bytes) VALUES ('p', 'export', 'completed', 'manual', '2026-01-01', "
            "'2026-01-01', 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"))
    ensure_schema(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {"hb_users", "hb_tokens", "hb_sessions", "hb_audit"} <= names
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT retry_of FROM hb_tasks")).all() == [(None,)]


@pytest.mark.slow
def test_users_tokens_and_the_audit_trail_from_the_command_line(tmp_path):
    project = make_project(tmp_path / "p", f"sqlite:///{tmp_path}/state.db")

    def add(*args: str, password: str = SECRET) -> subprocess.CompletedProcess:
        """`heartbeat web user ARGS` with the password on standard input."""
        return subprocess.run([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "web", "user", *args],
                              input=password + "\n", capture_output=True, text=True, cwd=project)

    assert add("add", "vera", "--role", "viewer").stdout == "user vera added (viewer)\n"
    assert add("add", "vera", "--role", "viewer").returncode == 1
    bad = add("add", "x", "--role", "boss")
    assert bad.returncode == 2 and "'boss' is not one of" in bad.stderr
    token = hb(project, "web", "user", "token", "vera", "--label", "ci")
    assert token.stdout.count("\n") == 1 and token.stdout.startswith("hb_") and "shown once" in token.stderr
    listed = json.loads(hb(project, "web", "user", "list", "--json").stdout)
    assert listed == [{**listed[0], "name": "vera", "role": "viewer", "tokens": ["ci"]}]
    assert "hash" not in json.dumps(listed)
    assert hb(project, "web", "user", "tokens", "vera").stdout.startswith("ci ")
    assert hb(project, "web", "user", "revoke", "vera", "ci").stdout == "token ci of vera revoked\n"
    assert hb(project, "web", "user", "logout", "vera").stdout == "0 sessions of vera ended\n"
    assert add("passwd", "vera", password="another long password").returncode == 0
    assert hb(project, "web", "user", "role", "vera", "operator").returncode == 0
    assert hb(project, "web", "user", "remove", "vera").stdout == "user vera removed\n"
    missing = hb(project, "web", "user", "remove", "vera", check=False)
    assert missing.returncode == 1 and missing.stderr.startswith("heartbeat: user 'vera' not found")
    audit = json.loads(hb(project, "audit", "list", "--json").stdout)
    assert [a["action"] for a in audit] == ["user.remove", "user.role", "user.passwd", "user.logout",
                                            "token.revoke", "token.add", "user.add"]
    assert {(a["actor"], a["via"]) for a in audit} == {(getpass.getuser(), "cli")}
    since = hb(project, "audit", "list", "--since", "2999-01-01T00:00:00Z").stdout
    assert since == ""
    wrong = hb(project, "audit", "list", "--since", "yesterday", check=False)
    assert wrong.returncode == 2 and "--since" in wrong.stderr and "Traceback" not in wrong.stderr


def test_the_category_mappings_changes_are_recorded(tasks, tmp_path, clock):
    categories = CategoryManager(tasks.config, tasks.store, clock)
    (tmp_path / "google.csv").write_text("id,path\n1604,Apparel & Accessories > Clothing\n")
    (tmp_path / "map.csv").write_text("shop,google\n3,1604\n")
    categories.add_column("google", actor=ME)
    categories.load_taxonomy("google", tmp_path / "google.csv", actor=ME)
    categories.import_csv(tmp_path / "map.csv", actor=ME)
    categories.set_override(2, "google", "1604", actor=ME)
    categories.unset_override(2, "google", actor=ME)
    assert [(e.action, e.target, e.detail) for e in tasks.audit.list()][::-1] == [
        ("categories.column", "column:google", "added"),
        ("categories.taxonomy", "column:google", "1 category from google.csv"),
        ("categories.import", "categories", f"1 row from {tmp_path / 'map.csv'}"),
        ("categories.set", "product:2", "google 1604 (shop)"),
        ("categories.unset", "product:2", "google (shop)")]
    assert {(e.actor, e.via) for e in tasks.audit.list()} == {("tester", "cli")}


def test_a_detail_too_long_for_the_column_is_cut_saying_how_long_it_was(tasks):
    long = "shop 1234 -> google 5181, " * 4000  # 104,000 characters: a bulk accept of 4,000 categories
    tasks.audit.record(cli_actor(), "categories.accept", "profile:feed", long + "é")
    [entry] = [e for e in tasks.audit.list() if e.action == "categories.accept"]
    assert entry.detail.startswith("shop 1234 -> google 5181, shop") and len(entry.detail) <= DETAIL_CHARS
    assert entry.detail.endswith("... (104,001 characters)")
