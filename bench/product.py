"""The product, run as a user runs it: a config file, `heartbeat profiles run`, then
`heartbeat tick --until-idle` in its own process, timed from spawn to exit (interpreter start,
imports, schema check, queue building and every batch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench import proc

EXPORT_PROFILE, IMPORT_PROFILE = "bench-export", "bench-import"

# The import profile (docs/configuration.md): a CSV feed in PrestaShop's import layout, matched by
# reference, setting prices and quantities in the shop.
IMPORT_SNIPPET = """
[connections.feed]
type = "csv"
path = {feed}

[[profiles]]
name = "{name}"
kind = "import"
source = "feed"
target = "shop"
batch_size = {batch_size}
match_by = "reference"
fields = ["price", "quantity"]
"""


def write_config(workdir: Path, state_url: str, shop_url: str, batch_size: int,
                 feed_path: Path | None = None, schedule: str | None = None) -> Path:
    """A config with the export profile, or (with `feed_path`) the import profile instead."""
    workdir.mkdir(parents=True, exist_ok=True)
    q = json.dumps  # a JSON string is a valid TOML basic string
    text = f"""[heartbeat]
data_dir = "data"
log_format = "json"

[database]
url = {q(state_url)}

[connections.shop]
type = "prestashop"
url = {q(shop_url)}

[connections.exports]
type = "directory"
path = "exports"
"""
    if feed_path is None:
        text += f"""
[[profiles]]
name = "{EXPORT_PROFILE}"
kind = "export"
source = "shop"
target = "exports"
batch_size = {batch_size}
full = true
""" + (f"schedule = {q(schedule)}\n" if schedule else "")
    else:
        text += IMPORT_SNIPPET.format(feed=q(str(feed_path)), name=IMPORT_PROFILE, batch_size=batch_size)
    path = workdir / "heartbeat.toml"
    path.write_text(text)
    return path


def cli(config: Path, *args: str, name: str, python_args: tuple[str, ...] = ()) -> proc.Timed:
    """`heartbeat --config CONFIG ARGS...` in a fresh process (logs kept next to the config)."""
    cmd = proc.python(*python_args, "-m", "heartbeat", "--config", str(config), *args)
    return proc.run(cmd, config.parent / "logs", name)


def queue_task(config: Path, profile: str) -> int:
    """`heartbeat profiles run PROFILE`; returns the new task's id."""
    out = cli(config, "profiles", "run", profile, name="profiles-run").check("heartbeat profiles run").stdout
    found = re.search(r"queued task (\d+)", out)
    if not found:
        raise RuntimeError(f"heartbeat profiles run printed {out!r}")
    return int(found.group(1))


def queue_maintenance(config: Path, operation: str, connection: str = "shop") -> tuple[int, proc.Timed]:
    """`heartbeat maintenance run CONNECTION OPERATION` (products scope): the new task's id and
    the command's timing (it only queues the task: the tick builds its queue of records)."""
    timed = cli(config, "maintenance", "run", connection, operation, name="maintenance-run").check(
        "heartbeat maintenance run")
    found = re.search(r"queued task (\d+)", timed.stdout)
    if not found:
        raise RuntimeError(f"heartbeat maintenance run printed {timed.stdout!r}")
    return int(found.group(1)), timed


def result(config: Path, task_id: int) -> dict:
    """`heartbeat tasks result ID`: a maintenance task's JSON dictionary of patterns."""
    out = cli(config, "tasks", "result", str(task_id), name="result").check("heartbeat tasks result")
    return json.loads(out.stdout)


def run_until_idle(config: Path, python_args: tuple[str, ...] = ()) -> proc.Timed:
    return cli(config, "tick", "--until-idle", name="tick", python_args=python_args).check(
        "heartbeat tick --until-idle")


def show(config: Path, task_id: int) -> dict:
    out = cli(config, "tasks", "show", str(task_id), "--json", name="show").check("heartbeat tasks show")
    return json.loads(out.stdout)


def report(config: Path, task_id: int, output: Path) -> proc.Timed:
    return cli(config, "tasks", "report", str(task_id), "-o", str(output), name="report").check(
        "heartbeat tasks report")


def idle_tick(config: Path) -> proc.Timed:
    """One `heartbeat tick` with nothing to do: the fixed cost of an invocation."""
    return cli(config, "tick", name="idle-tick").check("heartbeat tick")
