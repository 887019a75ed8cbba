"""The task manager: table and JSON views, the CSV report, refusals, retention."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from heartbeat.cli.main import cli
from heartbeat.cli.views import tasks_table
from reports import csv_report
from tasks.models import QueueEntry
from tests.helpers import make_store

EVIL = '=HYPERLINK("x")'


def fake_profile(kind="export", name="catalogue", batch_size=1000):
    return SimpleNamespace(name=name, kind=kind, batch_size=batch_size)


def started_task(store, clock, n, kind="export", names=None):
    """A running task with n queued items built from an in-memory source."""
    task = store.create(fake_profile(kind), "manual", clock.now(), clock.now())
    names = names or (lambda i: f"Product {i}")
    entries = (QueueEntry(i, 0, f"REF-{i}", names(i)) for i in range(1, n + 1))
    return store.start(task.id, clock.now(), "test-host:1:1", None, lambda: entries,
                       lambda _t: None, timedelta(minutes=5))


@pytest.fixture
def store(db_url):
    return make_store(db_url)


def test_table_fits_80_columns_even_for_big_tasks(store, clock):
    for _ in range(3):
        started_task(store, clock, 5)
    tasks = store.list()
    big = tasks[0].__class__(**{**tasks[0].__dict__, "id": 123456,
                                "progress": tasks[0].progress.__class__(1_000_000, 1_000_000)})
    text = tasks_table([big, *tasks])
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "Profile", "Kind", "Status", "Progress", "Scheduled", "Started",
                                "Finished"]
    assert max(len(line) for line in lines) <= 80, text
    assert lines[1].split()[:5] == ["123456", "catalogue", "export", tasks[0].status.value, "0/1000000"]


def test_report_lists_every_item_and_parses_back(store, clock, tmp_path):
    task = started_task(store, clock, 50, names=lambda i: EVIL if i == 7 else f"Product {i}")
    out = io.StringIO()
    assert csv_report.write(store.items(task.id), out) == 50
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == csv_report.HEADER
    assert [r[1] for r in rows[1:]] == [str(i) for i in range(1, 51)]
    assert rows[7][4] == "'" + EVIL  # neutralised, still readable
    assert all(not c.startswith(csv_report.FORMULA_START) for r in rows for c in r)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    assert csv_report.neutralise(cell) == "'" + cell


@pytest.mark.slow
def test_report_of_100000_items_streams_in_bounded_memory(store, clock, tmp_path):
    task = started_task(store, clock, 100_000)
    path = tmp_path / "report.csv"
    tracemalloc.start()
    with open(path, "w", newline="", encoding="utf-8") as f:
        rows = csv_report.write(store.items(task.id), f)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 100_000
    assert path.stat().st_size > 3_000_000
    assert peak < 8_000_000, f"peak {peak} bytes while writing a {path.stat().st_size}-byte report"


def test_prune_deletes_only_old_finished_tasks(store, clock):
    old = started_task(store, clock, 3)
    store.kill(old.id, clock.now())
    clock.advance(10 * 86400)
    recent = started_task(store, clock, 3)
    store.kill(recent.id, clock.now())
    running = started_task(store, clock, 3)
    deleted = store.prune(clock.now() - timedelta(days=5))
    assert [t.id for t in deleted] == [old.id]
    assert {t.id for t in store.list()} == {recent.id, running.id}
    assert store.item_counts(old.id) == {}


def test_prune_by_status(store, clock):
    killed = started_task(store, clock, 1)
    store.kill(killed.id, clock.now())
    clock.advance(86400)
    assert store.prune(clock.now(), statuses=["completed"]) == []
    assert [t.id for t in store.prune(clock.now(), statuses=["killed"])] == [killed.id]


def cli_on(tmp_path, db_url):
    config = tmp_path / "heartbeat.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[heartbeat]\ndata_dir = "data"\n')
    return lambda *a: CliRunner().invoke(cli, ["--config", str(config), *map(str, a)])


def test_export_file_of_an_import_task_is_refused(store, clock, tmp_path, db_url):
    task = store.create(fake_profile("import", "supplier"), "manual", clock.now(), clock.now())
    result = cli_on(tmp_path, db_url)("tasks", "export-file", task.id, "-o", tmp_path / "x.json")
    assert result.exit_code == 1
    assert result.stderr == (f"heartbeat: task {task.id} is an import task; "
                             "only export tasks have an export file\n")
    assert list(tmp_path.glob("*.json")) == []  # no partial file


def test_export_file_of_a_task_killed_before_any_batch_says_so(store, clock, tmp_path, db_url):
    task = started_task(store, clock, 4)
    store.kill(task.id, clock.now())
    result = cli_on(tmp_path, db_url)("tasks", "export-file", task.id)
    assert result.exit_code == 1
    assert result.stderr == (f"heartbeat: task {task.id} was killed before exporting anything; "
                             "it has no export file\n")


def test_report_to_file_and_show_json_contract(store, clock, tmp_path, db_url):
    task = started_task(store, clock, 4)
    hb = cli_on(tmp_path, db_url)
    assert hb("tasks", "report", task.id, "-o", tmp_path / "r.csv").exit_code == 0
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 5
    shown = json.loads(hb("tasks", "show", task.id, "--json").output)
    assert {k: shown[k] for k in ("id", "profile", "kind", "status", "trigger", "message", "progress")} == {
        "id": task.id, "profile": "catalogue", "kind": "export", "status": "running", "trigger": "manual",
        "message": None,
        "progress": {"total": 4, "pending": 4, "processed": 0, "skipped": 0, "cancelled": 0, "error": 0},
    }
    assert shown["scheduled_at"] == "2026-11-02T09:00:30Z" and shown["started_at"] == "2026-11-02T09:00:30Z"


def test_prune_command_parses_ages(store, clock, tmp_path, db_url):
    task = started_task(store, clock, 1)
    store.kill(task.id, clock.now())  # finished in 2026-11-02, long before "now"
    hb = cli_on(tmp_path, db_url)
    assert hb("tasks", "prune", "--older-than", "3x").exit_code == 2
    result = hb("tasks", "prune", "--older-than", "1d")
    assert result.output == "1 finished task deleted\n"
