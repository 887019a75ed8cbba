"""The CLI contract (SPEC: CLI contract), through click's CliRunner on real files and databases."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from connectors.prestashop import create_demo_shop
from heartbeat.cli.main import cli
from tests.helpers import write_config_file as write_config

TASK_KEYS = {"id", "profile", "kind", "status", "trigger", "scheduled_at", "started_at", "finished_at",
             "message", "progress"}


@pytest.fixture
def hb(tmp_path, db_url, shop_url):
    """Run `heartbeat --config <a fresh config> ARGS...`; returns the click Result."""
    create_demo_shop(shop_url, products=25)
    config = write_config(tmp_path, db_url, shop_url)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--config", str(config), *map(str, args)], catch_exceptions=False)
    return invoke


def queued_id(result) -> int:
    assert result.exit_code == 0, result.output
    return int(result.output.split()[-1])


def test_profiles_list_json(hb):
    result = hb("profiles", "list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == [{
        "name": "export-products", "kind": "export", "source": "shop", "target": None, "schedule": None,
        "enabled": True, "next_run": None, "batch_size": 10, "last_task": None, "last_status": None,
        "paused": False, "paused_at": None,
    }]


def test_profiles_run_queues_a_pending_task_and_prints_its_id(hb):
    result = hb("profiles", "run", "export-products")
    assert result.output == "export profile export-products: queued task 1\n"
    task = json.loads(hb("tasks", "show", 1, "--json").output)
    assert TASK_KEYS <= set(task)
    assert task["status"] == "pending" and task["trigger"] == "manual" and task["kind"] == "export"
    assert task["progress"] == {"total": 0, "pending": 0, "processed": 0, "skipped": 0, "cancelled": 0,
                                "error": 0}
    assert task["scheduled_at"].endswith("Z") and task["started_at"] is None


def test_tick_runs_a_batch_and_until_idle_completes(hb):
    task_id = queued_id(hb("profiles", "run", "export-products"))
    assert hb("tick").exit_code == 0
    task = json.loads(hb("tasks", "show", task_id, "--json").output)
    assert task["status"] == "running"
    assert task["progress"]["pending"] == 15 and task["progress"]["processed"] == 10
    assert hb("tick", "--until-idle").exit_code == 0
    [task] = json.loads(hb("tasks", "list", "--json").output)
    assert task["status"] == "completed" and task["progress"]["processed"] == 25
    assert task["finished_at"].endswith("Z")


def test_export_file_to_a_file(hb, tmp_path):
    task_id = queued_id(hb("profiles", "run", "export-products"))
    hb("tick", "--until-idle")
    out = tmp_path / "out.json"
    assert hb("tasks", "export-file", task_id, "-o", out).exit_code == 0
    assert len(json.loads(out.read_text())["products"]) == 25


@pytest.mark.parametrize("args,code,message", [
    (("tasks", "show", 999), 1, "heartbeat: task 999 not found\n"),
    (("tasks", "kill", 999), 1, "heartbeat: task 999 not found\n"),
    (("tasks", "export-file", 1), 1, "heartbeat: task 1 has no export file yet (status pending)\n"),
    (("profiles", "run", "nope"), 1,
     "heartbeat: profile 'nope' not found; known profiles: export-products\n"),
])
def test_refusals_are_one_line_with_exit_code(hb, args, code, message):
    hb("profiles", "run", "export-products")
    result = hb(*args)
    assert (result.exit_code, result.stderr) == (code, message)


def test_killing_a_completed_task_is_refused(hb):
    task_id = queued_id(hb("profiles", "run", "export-products"))
    hb("tick", "--until-idle")
    result = hb("tasks", "kill", task_id)
    assert result.exit_code == 1
    assert result.stderr == (f"heartbeat: task {task_id} is completed; "
                             "only pending or running tasks can be killed\n")


def test_kill_then_delete(hb, tmp_path):
    task_id = queued_id(hb("profiles", "run", "export-products"))
    hb("tick")
    result = hb("tasks", "kill", task_id)
    assert result.output == f"task {task_id} killed: 15 pending items cancelled\n"
    export = Path(json.loads(hb("tasks", "show", task_id, "--json").output)["export_file"])
    assert export.exists()
    assert hb("tasks", "delete", task_id).output == f"task {task_id} deleted\n"
    assert hb("tasks", "show", task_id).exit_code == 1
    assert not export.exists()


def test_delete_names_an_export_file_it_could_not_remove(hb):
    task_id = queued_id(hb("profiles", "run", "export-products"))
    hb("tick")
    export = Path(json.loads(hb("tasks", "show", task_id, "--json").output)["export_file"])
    export.unlink()
    (export / "in-the-way").mkdir(parents=True)  # a directory where the file was: unlink fails
    result = hb("tasks", "delete", task_id)
    assert result.exit_code == 1 and result.stdout == f"task {task_id} deleted\n"
    assert result.stderr.startswith(f"heartbeat: cannot remove {export}: ") and result.stderr.count("\n") == 1
    assert hb("tasks", "show", task_id).exit_code == 1  # the task is gone all the same


def test_counts_in_cli_output_agree_with_their_number(tmp_path, db_url, shop_url):
    config = write_config(tmp_path, db_url, shop_url, batch_size=1)
    runner = CliRunner()

    def hb(*args):
        return runner.invoke(cli, ["--config", str(config), *map(str, args)], catch_exceptions=False)

    def demo_init(n):
        return hb("demo", "init", "--connection", "shop", "--products", n, "--force").output

    assert demo_init(2).startswith("demo shop created: 2 products in ")
    assert demo_init(1).startswith("demo shop created: 1 product in ")
    assert hb("profiles", "check").output == f"{config}: OK (1 connection, 1 profile)\n"
    create_demo_shop(shop_url, products=2, overwrite=True)
    task_id = queued_id(hb("profiles", "run", "export-products"))
    hb("tick")  # one batch of one item: one left
    assert "Batches:       1 (up to 1 item each)\n" in hb("tasks", "show", task_id).output
    assert hb("tasks", "kill", task_id).output == f"task {task_id} killed: 1 pending item cancelled\n"


def test_tasks_list_pages_with_before_and_filters_by_kind(hb):
    ids = [queued_id(hb("profiles", "run", "export-products", *flags))
           for flags in ([], ["--full"], ["--dry-run"], ["--force"], ["--full", "--force"])]
    page = json.loads(hb("tasks", "list", "--limit", "2", "--json").output)
    assert [t["id"] for t in page] == [ids[4], ids[3]]
    older = json.loads(hb("tasks", "list", "--limit", "2", "--before", ids[3], "--json").output)
    assert [t["id"] for t in older] == [ids[2], ids[1]]
    exports = json.loads(hb("tasks", "list", "--kind", "export", "--json").output)
    assert [t["id"] for t in exports] == ids[::-1]
    assert hb("tasks", "list", "--kind", "import").output == "no tasks\n"


def test_bad_status_filter_is_a_usage_error(hb):
    result = hb("tasks", "list", "--status", "bogus")
    assert result.exit_code == 2 and "bogus" in result.stderr


def test_bad_config_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[profiles]]\nname = "x"\nkind = "export"\nsource = "nowhere"\n')
    result = CliRunner().invoke(cli, ["--config", str(bad), "profiles", "check"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(bad) in result.stderr and "nowhere" in result.stderr


def test_profiles_check_accepts_the_example_config():
    result = CliRunner().invoke(cli, ["--config", "config.example.toml", "profiles", "check"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_text(path, command):
    assert command.help and command.help.strip(), f"heartbeat {' '.join(path)} has no help"
