"""Notifications: [[notify]] entries in the config; deliveries written with the status change that
asks for them (never otherwise); sent to a real webhook and a real SMTP server on 127.0.0.1,
retried with a back-off, given up after a day and listed as problems; and, with real daemons,
delivered once after a SIGKILL between the status change and the delivery."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from core.config import Config, Notify, Web
from core.errors import ConfigError, FatalTaskError, Refused
from heartbeat.config.loader import load
from heartbeat.engine import notify
from heartbeat.services.tasks import TaskManager
from reports import action_log
from tasks import rows, tables
from tasks.database import create_state_engine, ensure_schema
from tasks.states import TaskStatus
from tasks.store import TaskStore
from tasks.stores.outbox import Subscriptions
from tests import processes
from tests.receivers import SmtpReceiver, WebhookReceiver

PROFILE = SimpleNamespace(name="nightly-import", kind="import", batch_size=10)


def config_with(tmp_path: Path, *entries: Notify, web_url: str | None = None) -> Config:
    return Config(path=tmp_path / "heartbeat.toml", data_dir=tmp_path, database_url="sqlite://",
                  notify=entries, web=Web(url=web_url))


def store_for(db_url: str, config: Config) -> TaskStore:
    engine = create_state_engine(db_url)
    ensure_schema(engine)
    return TaskStore(engine, action_log, Subscriptions.of(config.notify))


def failed_task(store: TaskStore, clock, profile=PROFILE) -> int:
    """A task that ends in error at its start (its feed is missing)."""
    task = store.create(profile, "manual", clock.now(), clock.now())

    def build():
        raise FatalTaskError("feed supplier: file /srv/feed.csv not found")

    store.start(task.id, clock.now(), "test:1:1", None, build, lambda _t: None, timedelta(minutes=2))
    return task.id


def missed_task(store: TaskStore, clock) -> int:
    """A scheduled task started too late for its slot: missed."""
    task = store.create(PROFILE, "schedule", clock.now() - timedelta(hours=1), clock.now())
    store.start(task.id, clock.now(), "test:1:1", 60, list, lambda _t: None, timedelta(minutes=2))
    assert store.get(task.id).status is TaskStatus.MISSED
    clock.advance(60)
    return task.id


# -- the config -----------------------------------------------------------------------------------


def _load(tmp_path: Path, text: str, env=None) -> Config:
    path = tmp_path / "heartbeat.toml"
    path.write_text(text)
    return load(path, env or {})


def test_notify_entries_load_with_their_defaults(tmp_path):
    cfg = _load(tmp_path, """
[web]
url = "https://hb.example.com/"

[[notify]]
url = "https://hooks.example.com/hb"
secret = "${HOOK_SECRET}"

[[notify]]
name = "ops-mail"
email = "ops@example.com"
on = ["error", "missed"]
smtp_host = "mail.example.com"
smtp_port = 587
smtp_tls = "starttls"
smtp_user = "hb"
smtp_password = "pw"
""", {"HOOK_SECRET": "s3cret"})
    hook, mail = cfg.notify
    assert (hook.name, hook.kind, hook.on, hook.secret, hook.secret_header) == (
        "notify-1", "webhook", frozenset({"error"}), "s3cret", "X-Heartbeat-Secret")
    assert (mail.name, mail.kind, mail.email, mail.on, mail.smtp_port) == (
        "ops-mail", "email", ("ops@example.com",), frozenset({"error", "missed"}), 587)
    assert cfg.web.url == "https://hb.example.com"
    assert cfg.min_free_mb == 100.0


@pytest.mark.parametrize("entry, message", [
    ('url = "https://h.example.com"\nemail = "a@b.example"', "notify[0] (notify-1): give exactly one of url"),
    ('on = ["error"]', "notify[0] (notify-1): give exactly one of url"),
    ('url = "https://h.example.com"\non = ["failed"]', "notify[0] (notify-1).on: unknown status 'failed'"),
    ('url = "https://h.example.com"\non = ["pending"]', "notify[0] (notify-1).on: unknown status 'pending'"),
    ('email = ["ops at example.com"]', "notify[0] (notify-1).email: not an e-mail address: 'ops at example"),
    ('url = "ftp://h.example.com"', "notify[0].url: must be an http:// or https:// URL"),
    ('url = "https://h.example.com"\nsecret_header = "X Bad"', "notify[0].secret_header: must be an HTTP"),
    ('email = "a@example.com"\nsmtp_password = "pw"', "notify[0] (notify-1).smtp_user: required with"),
    ('url = "https://h.example.com"\nsecret = "s"\nsecrets = 1', "notify[0].secrets: unknown key (did you"),
])
def test_a_bad_notify_entry_is_one_line_naming_the_key(tmp_path, entry, message):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"[[notify]]\n{entry}\n")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_two_notify_entries_may_not_share_a_name(tmp_path):
    with pytest.raises(ConfigError, match=r"notify\[1\] \(ops\)\.name: duplicate name"):
        _load(tmp_path, '[[notify]]\nname = "ops"\nurl = "https://a.example.com"\n'
                        '[[notify]]\nname = "ops"\nurl = "https://b.example.com"\n')


# -- the outbox: written with the status change, and only then -------------------------------------


def test_an_error_writes_one_delivery_per_entry_asking_about_it(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", url="http://127.0.0.1:9/"),
                      Notify("team", on=frozenset({"error", "completed"}), url="http://127.0.0.1:9/"),
                      Notify("done-only", on=frozenset({"completed"}), url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    task_id = failed_task(store, clock)
    sent = store.outbox.list()
    assert sorted(d.target for d in sent) == ["ops", "team"]
    for d in sent:
        assert (d.task_id, d.event, d.status, d.attempts) == (task_id, "task.error", "pending", 0)
        assert d.task == store.get(task_id).to_json()  # the task's --json object, as it was then
        assert d.task["message"] == "feed supplier: file /srv/feed.csv not found"


def test_a_status_change_that_rolls_back_leaves_no_delivery(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", on=frozenset({"killed"}), url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    task = store.create(PROFILE, "manual", clock.now(), clock.now())
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        rows.transition(conn, rows.read_task(conn, task.id), TaskStatus.KILLED, clock.now(), "killed",
                        store.notify)
        assert len(conn.execute(tables.notifications.select()).all()) == 1  # written in it...
        raise RuntimeError("the process dies before the commit")
    assert store.get(task.id).status is TaskStatus.PENDING
    assert store.outbox.list() == []  # ... and gone with it
    store.kill(task.id, clock.now())
    assert [d.event for d in store.outbox.list()] == ["task.killed"]


def test_a_refused_status_change_writes_no_delivery(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", on=frozenset({"killed"}), url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    task = store.create(PROFILE, "manual", clock.now(), clock.now())
    stale = store.get(task.id)
    store.kill(task.id, clock.now())
    with pytest.raises(Refused), store.engine.begin() as conn:  # the row changed under us
        rows.transition(conn, stale, TaskStatus.ERROR, clock.now(), "late", store.notify)
    assert [d.event for d in store.outbox.list()] == ["task.killed"]


def test_missed_is_notified_on_the_second_missed_task_in_a_row_only(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", on=frozenset({"missed"}), url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    first, second, third = missed_task(store, clock), missed_task(store, clock), missed_task(store, clock)
    assert [d.task_id for d in store.outbox.list()] == [second]
    done = store.create(PROFILE, "manual", clock.now(), clock.now())
    store.start(done.id, clock.now(), "test:1:1", None, list, lambda _t: None, timedelta(minutes=2))
    assert store.get(done.id).status is TaskStatus.COMPLETED  # nothing to do: an end that is not missed
    clock.advance(60)
    again, twice = missed_task(store, clock), missed_task(store, clock)
    assert [d.task_id for d in store.outbox.list()] == [twice, second]
    assert first and third and again  # missed alone, or a third time in a row: nothing new to say


def test_a_deleted_task_keeps_its_pending_deliveries_but_not_its_sent_ones(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    sent, waiting = failed_task(store, clock), failed_task(store, clock)
    store.outbox.delivered(store.outbox.list(task_id=sent)[0].id, clock.now())
    store.delete(sent, clock.now())
    store.delete(waiting, clock.now())
    assert [(d.task_id, d.status) for d in store.outbox.list()] == [(waiting, "pending")]


# -- sending ----------------------------------------------------------------------------------------


def test_a_webhook_failing_twice_then_accepting_gets_exactly_one_delivery(db_url, tmp_path, clock):
    with WebhookReceiver(fail_first=2) as hook:
        entry = Notify("ops", url=hook.url, secret="s3cret", secret_header="X-Hook-Token")
        cfg = config_with(tmp_path, entry, web_url="https://hb.example.com")
        store = store_for(db_url, cfg)
        task_id = failed_task(store, clock)
        sender = notify.Sender(cfg, store.outbox, clock)
        assert sender.send_due() == notify.Sent(failed=1)
        [d] = store.outbox.list()
        assert (d.status, d.attempts, d.last_error) == ("pending", 1, "HTTP 500 Internal Server Error")
        assert d.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert sender.send_due() == notify.Sent()  # not due yet
        clock.advance(30)
        assert sender.send_due() == notify.Sent(failed=1)
        assert store.outbox.list()[0].next_attempt_at == clock.now() + timedelta(seconds=60)
        clock.advance(60)
        assert sender.send_due() == notify.Sent(delivered=1)
        clock.advance(3600)
        assert sender.send_due() == notify.Sent()
    [d] = store.outbox.list()
    assert (d.status, d.attempts, d.last_error, d.delivered_at) == ("delivered", 3, None, clock.now()
                                                                    - timedelta(seconds=3600))
    assert [r.answered for r in hook.requests] == [500, 500, 200]
    assert {r.headers["X-Heartbeat-Delivery"] for r in hook.requests} == {str(d.id)}  # one id: dedupe
    request = hook.accepted[0]
    assert request.headers["X-Hook-Token"] == "s3cret"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"event": "task.error", "task": store.get(task_id).to_json(),
                                        "link": f"https://hb.example.com/tasks/{task_id}"}
    assert TaskManager(cfg, store, clock).notification_problems() == []


def test_a_delivery_failing_for_a_day_is_given_up_and_listed_as_a_problem(db_url, tmp_path, clock):
    with WebhookReceiver(fail_first=10 ** 6) as hook:
        cfg = config_with(tmp_path, Notify("ops", url=hook.url, secret="s3cret"))
        store = store_for(db_url, cfg)
        task_id = failed_task(store, clock)
        sender, manager = notify.Sender(cfg, store.outbox, clock), TaskManager(cfg, store, clock)
        sender.send_due()
        [problem] = manager.notification_problems()
        assert (problem["status"], problem["attempts"], problem["last_error"], problem["task_id"]) == (
            "pending", 1, "HTTP 500 Internal Server Error", task_id)
        delays = []
        while store.outbox.list()[0].status == "pending":
            delays.append((store.outbox.list()[0].next_attempt_at - clock.now()).total_seconds())
            clock.advance(delays[-1])
            sender.send_due()
    assert delays[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600] and set(delays[8:]) == {3600}
    [problem] = manager.notification_problems()
    assert (problem["status"], problem["next_attempt_at"]) == ("failed", None)
    assert problem["attempts"] == len(hook.requests) == len(delays) + 1
    assert "s3cret" not in json.dumps(problem)


def test_a_delivery_nobody_sends_becomes_a_problem_after_five_minutes(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    failed_task(store, clock)
    manager = TaskManager(cfg, store, clock)
    clock.advance(299)
    assert manager.notification_problems() == []
    clock.advance(2)
    assert [p["status"] for p in manager.notification_problems()] == ["pending"]


def test_a_delivery_is_taken_by_one_sender_at_a_time(db_url, tmp_path, clock):
    cfg = config_with(tmp_path, Notify("ops", url="http://127.0.0.1:9/"))
    store = store_for(db_url, cfg)
    failed_task(store, clock)
    [d] = store.outbox.due(clock.now())
    until = clock.now() + timedelta(seconds=70)
    assert store.outbox.take(d.id, clock.now(), until).attempts == 1
    assert store.outbox.take(d.id, clock.now(), until) is None  # the other sender
    assert store.outbox.due(clock.now()) == []
    clock.advance(70)  # the first sender died mid-attempt: the delivery is due again
    assert [x.id for x in store.outbox.due(clock.now())] == [d.id]


def test_a_delivery_to_an_entry_no_longer_configured_is_given_up(db_url, tmp_path, clock):
    store = store_for(db_url, config_with(tmp_path, Notify("old", url="http://127.0.0.1:9/")))
    failed_task(store, clock)
    renamed = config_with(tmp_path, Notify("new", url="http://127.0.0.1:9/"))
    assert notify.Sender(renamed, store.outbox, clock).send_due() == notify.Sent(failed=1)
    [d] = store.outbox.list()
    assert (d.status, d.last_error) == ("failed", "no [[notify]] entry named 'old' in the config any more")


def test_an_unreachable_webhook_is_a_failed_attempt(tmp_path, clock):
    store = store_for(f"sqlite:///{tmp_path / 'state.db'}", config_with(tmp_path, Notify("ops", url="x")))
    failed_task(store, clock)
    with WebhookReceiver() as hook:
        url = hook.url  # a port nobody listens on once the receiver is gone
    cfg = config_with(tmp_path, Notify("ops", url=url, timeout=2))
    assert notify.Sender(cfg, store.outbox, clock).send_due() == notify.Sent(failed=1)
    assert store.outbox.list()[0].last_error.startswith("cannot reach the webhook: [Errno 111]")


def test_an_email_entry_sends_a_message_over_smtp(db_url, tmp_path, clock):
    with SmtpReceiver() as smtp:
        entry = Notify("ops-mail", email=("ops@example.com", "oncall@example.com"), smtp_host="127.0.0.1",
                       smtp_port=smtp.port, smtp_from="heartbeat@shop.example.com")
        cfg = config_with(tmp_path, entry, web_url="https://hb.example.com")
        store = store_for(db_url, cfg)
        task_id = failed_task(store, clock)
        assert notify.Sender(cfg, store.outbox, clock).send_due() == notify.Sent(delivered=1)
    [(sender, recipients, msg)] = smtp.messages
    [d] = store.outbox.list()
    assert sender == "<heartbeat@shop.example.com>"
    assert recipients == ["<ops@example.com>", "<oncall@example.com>"]
    assert msg["Subject"] == (f"heartbeat: task {task_id} (nightly-import) error: "
                              "feed supplier: file /srv/feed.csv not found")
    assert msg["To"] == "ops@example.com, oncall@example.com"
    assert msg["X-Heartbeat-Delivery"] == str(d.id)
    assert msg["Message-ID"].startswith(f"<heartbeat.delivery.{d.id}.")
    text = msg.get_content()
    assert f"https://hb.example.com/tasks/{task_id}" in text
    assert json.loads(text[text.index("\n{") + 1:]) == notify.payload(d, cfg.web.url)
    assert d.status == "delivered"


def test_an_smtp_server_refusing_is_a_failed_attempt_saying_so(db_url, tmp_path, clock):
    entry = Notify("ops-mail", email=("ops@example.com",), smtp_host="127.0.0.1", smtp_port=9, timeout=2)
    store = store_for(db_url, config_with(tmp_path, entry))
    failed_task(store, clock)
    sender = notify.Sender(config_with(tmp_path, entry), store.outbox, clock)
    assert sender.send_due() == notify.Sent(failed=1)
    assert store.outbox.list()[0].last_error.startswith("SMTP server 127.0.0.1:9: [Errno 111]")


# -- real processes -----------------------------------------------------------------------------------


def _project(tmp_path: Path, hook: WebhookReceiver) -> Path:
    project = processes.make_project(tmp_path / "project", f"sqlite:///{tmp_path / 'project' / 'state.db'}")
    with open(project / "heartbeat.toml", "a") as f:
        f.write('\n[connections.missing_feed]\ntype = "csv"\npath = "no-such-feed.csv"\n'
                '\n[[profiles]]\nname = "broken-import"\nkind = "import"\nsource = "missing_feed"\n'
                'target = "demo_shop"\nfields = ["price"]\n'
                f'\n[[notify]]\nurl = "{hook.url}"\nsecret = "${{HB_TEST_HOOK_SECRET}}"\n')
    return project


def _queue(project: Path, profile: str) -> int:
    return int(processes.hb(project, "profiles", "run", profile).stdout.split()[-1])


@pytest.mark.slow
def test_a_daemon_killed_between_an_error_and_its_delivery_delivers_once_after_restart(tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("HB_TEST_HOOK_SECRET", "s3cret")  # inherited by the daemons, read by the config
    with WebhookReceiver() as hook:
        project = _project(tmp_path, hook)
        task_id = _queue(project, "broken-import")
        held = tmp_path / "held.pid"
        daemon = subprocess.Popen([*processes.HOOKED, "--config", str(project / "heartbeat.toml"), "run"],
                                  cwd=project, env=processes.hooked_env(hold_before_delivery=held),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            processes.wait_for(held.exists, "the sender to reach the delivery")
            assert processes.show(project, task_id)["status"] == "error"
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=processes.DEADLINE)
            assert hook.requests == []
            again = processes.start_daemon(project)
            try:
                processes.wait_for(lambda: hook.requests, "the delivery after the restart")
                processes.wait_for(lambda: _statuses(project) == ["delivered"], "the delivery to be recorded")
                assert "notify.delivered" in _stop(again)
            finally:
                again.kill() if again.poll() is None else None
        finally:
            daemon.kill() if daemon.poll() is None else None
    [request] = hook.requests
    body = json.loads(request.body)
    assert (body["event"], body["task"]["id"], body["task"]["status"]) == ("task.error", task_id, "error")
    assert request.headers["X-Heartbeat-Secret"] == "s3cret"
    status = processes.hb(project, "tasks", "show", str(task_id), "--json")
    assert json.loads(status.stdout)["status"] == "error"


def _statuses(project: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{project / 'state.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT status FROM hb_notifications")).scalars())
    finally:
        engine.dispose()


def _stop(daemon: subprocess.Popen) -> str:
    """Stop a daemon cleanly; its stderr (the JSON log). Never logs a secret."""
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=processes.DEADLINE)
    assert daemon.returncode == 0 and "s3cret" not in err
    return err


@pytest.mark.slow
def test_heartbeat_tick_sends_after_its_heartbeats(tmp_path, monkeypatch):
    monkeypatch.setenv("HB_TEST_HOOK_SECRET", "s3cret")
    with WebhookReceiver(fail_first=1) as hook:
        project = _project(tmp_path, hook)
        failed, done = _queue(project, "broken-import"), _queue(project, "demo-export")
        processes.hb(project, "demo", "init", "--products", "30")
        first = processes.hb(project, "tick", "--until-idle")
        assert len(hook.requests) == 1 and hook.accepted == []  # tried once: retried in 30 s
        assert "HTTP 500" in first.stderr and "s3cret" not in first.stderr
        processes.hb(project, "tick")
        assert len(hook.requests) == 1  # not yet due
    assert processes.show(project, done)["status"] == "completed"  # not asked about: no delivery
    assert json.loads(hook.requests[0].body)["task"]["id"] == failed
    [problem] = json.loads(processes.hb(project, "notify", "list", "--problems", "--json").stdout)
    assert (problem["task_id"], problem["status"], problem["attempts"], problem["last_error"]) == (
        failed, "pending", 1, "HTTP 500 Internal Server Error")
    listed = processes.hb(project, "notify", "list").stdout.splitlines()
    assert listed[0].split() == ["ID", "Task", "Event", "Target", "Status", "Attempts", "Created", "Last",
                                 "error"]
    assert listed[1].split()[:6] == ["1", str(failed), "task.error", "notify-1", "pending", "1"]
    assert listed[1].endswith("HTTP 500 Internal Server Error")


@pytest.mark.parametrize("text, message", [
    ('[web]\nurl = "heartbeat.example.com"\n', "web.url: must be an http:// or https:// URL"),
    ('[web]\nurls = "https://h.example.com"\n', "web.urls: unknown key (did you mean 'url'?)"),
    ("[heartbeat]\nmin_free_mb = -1\n", "heartbeat.min_free_mb: must be 0 or more, got -1.0"),
    ('[notify]\nurl = "https://h.example.com"\n', "notify: expected [[notify]] tables, got a table"),
])
def test_web_url_and_min_free_mb_are_checked(tmp_path, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _load(tmp_path, text)


def test_the_example_config_loads_and_asks_for_no_notification():
    cfg = load(Path(__file__).resolve().parent.parent / "config.example.toml")
    assert cfg.notify == () and cfg.web.url is None and cfg.min_free_mb == 100.0
