"""Live progress: a task's line (bar, counters, rate, ETA), `tasks watch` following a task to its
end (exit 0 completed, 1 otherwise) driven by a frozen clock and real heartbeats, nothing of it when
the output is not a terminal, and the real commands on a pipe and on a pseudo-terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
from datetime import UTC, datetime

import pytest

from core.errors import TaskNotFound
from heartbeat.cli import progress
from heartbeat.services.tasks import TaskManager
from tasks.models import Progress, Task
from tasks.states import TaskStatus
from tests import processes
from tests.helpers import make_config, make_heartbeat

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # lines are cut to the terminal's width

def a_task(status: TaskStatus, progress_: Progress) -> Task:
    return Task(id=12, profile="demo-export", kind="export", status=status, trigger="manual", created_at=T0,
                scheduled_at=T0, started_at=T0, finished_at=None, message=None, batch_size=500,
                progress=progress_)


def test_a_running_task_line_has_its_bar_counters_rate_and_eta():
    task = a_task(TaskStatus.RUNNING, Progress(total=10000, pending=5500, processed=4400, skipped=100))
    assert progress.line(task, 50.0) == ("task 12 demo-export [#########...........]  45% 4500/10000  "
                                         "4400 processed, 100 skipped, 0 errors  50 items/s  ETA 1:50")
    assert progress.line(task, None).endswith("- items/s  ETA -")


def test_an_ended_task_line_says_how_it_ended():
    done = a_task(TaskStatus.COMPLETED, Progress(total=10, processed=9, error=1))
    assert progress.line(done, 3.0) == ("task 12 demo-export [####################] 100% 10/10  "
                                        "9 processed, 0 skipped, 1 error  completed")
    killed = a_task(TaskStatus.KILLED, Progress(total=10, processed=4, cancelled=6))
    assert progress.line(killed, None).endswith("4 processed, 0 skipped, 0 errors, 6 cancelled  killed")
    assert progress.line(a_task(TaskStatus.PENDING, Progress()), None).endswith("   - 0/0  pending")


def test_durations_read_as_a_clock():
    assert [progress.duration(s) for s in (42, 725, 3723)] == ["0:42", "12:05", "1:02:03"]


def test_log_lines_scroll_above_the_bars():
    screen = Terminal()  # stdout and stderr on one terminal
    display = progress.Display(screen)
    display.show(["task 1 [#...]", "task 2 [##..]"])
    print("batch.committed task_id=1", file=progress.LogsAbove(screen, display), flush=True)
    display.show(["task 1 [##..]", "task 2 [###.]"])
    display.close()
    erase = "\x1b[1F\x1b[J"  # up to the first bar, clear to the end of the screen
    assert screen.getvalue() == ("task 1 [#...]\ntask 2 [##..]" + erase + "batch.committed task_id=1\n"
                                 "task 1 [#...]\ntask 2 [##..]" + erase + "task 1 [##..]\ntask 2 [###.]\n")


@pytest.fixture
def exporting(tmp_path, db_url, demo_url, clock):
    """A heartbeat on a frozen clock, and a queued 200-product export in batches of 50."""
    beat = make_heartbeat(make_config(tmp_path, db_url, demo_url, batch_size=50), clock)
    manager = TaskManager(beat.config, beat.store, clock)
    task = manager.queue("export-products")
    return beat, manager, task.id


def _beat_every(beat, clock):
    def wait(seconds):
        clock.advance(seconds)
        beat.tick()
    return wait


def test_watch_draws_the_bar_until_the_task_completes_and_exits_0(exporting, clock):
    beat, manager, task_id = exporting
    out = Terminal()
    assert progress.watch(manager.show, task_id, out, clock, every=2, wait=_beat_every(beat, clock)) == 0
    frames = out.getvalue().split("\r\x1b[J")  # each frame erases the one before
    assert frames[0].startswith(f"task {task_id} export-products [....................]")
    assert frames[0].endswith("pending")
    assert "  25% 50/200  50 processed, 0 skipped, 0 errors  25 items/s  ETA 0:06" in frames[1]
    assert "  50% 100/200  100 processed, 0 skipped, 0 errors  25 items/s  ETA 0:04" in frames[2]
    assert frames[-1] == (f"task {task_id} export-products [####################] 100% 200/200  "
                          "200 processed, 0 skipped, 0 errors  completed\n")


def test_watch_prints_nothing_when_its_output_is_not_a_terminal(exporting, clock):
    beat, manager, task_id = exporting
    out = io.StringIO()
    assert progress.watch(manager.show, task_id, out, clock, every=2, wait=_beat_every(beat, clock)) == 0
    assert out.getvalue() == ""


def test_watch_exits_1_when_the_task_ends_otherwise(exporting, clock):
    beat, manager, task_id = exporting

    def kill_after_a_batch(seconds):
        clock.advance(seconds)
        beat.tick()
        manager.kill(task_id)

    out = Terminal()
    assert progress.watch(manager.show, task_id, out, clock, wait=kill_after_a_batch) == 1
    assert out.getvalue().endswith("50 processed, 0 skipped, 0 errors, 150 cancelled  killed\n")
    with pytest.raises(TaskNotFound):
        progress.watch(manager.show, 999, out, clock, wait=kill_after_a_batch)


# -- the real commands --------------------------------------------------------------------------------


def _project(tmp_path):
    project = processes.make_project(tmp_path / "p", f"sqlite:///{tmp_path / 'p' / 'state.db'}")
    processes.hb(project, "demo", "init", "--products", "300")
    return project


def _queue(project, profile="demo-export", *flags: str) -> int:
    return int(processes.hb(project, "profiles", "run", profile, *flags).stdout.split()[-1])


def _watch(project, task_id, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*processes.HEARTBEAT, "--config", str(project / "heartbeat.toml"), "tasks",
                             "watch", str(task_id), "--every", "0.05"], cwd=project, **kwargs)


@pytest.mark.slow
def test_tasks_watch_on_a_pipe_prints_nothing_and_exits_with_the_end(tmp_path):
    project = _project(tmp_path)
    completes, killed = _queue(project), _queue(project, "demo-export", "--full")  # not the same run twice
    watching = [_watch(project, t, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for t in (completes, killed)]
    processes.hb(project, "tasks", "kill", str(killed))
    processes.hb(project, "tick", "--until-idle")
    outs = [w.communicate(timeout=processes.DEADLINE) for w in watching]
    assert [w.returncode for w in watching] == [0, 1]
    assert outs == [("", ""), ("", "")]
    missing = processes.hb(project, "tasks", "watch", "999", check=False)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", "heartbeat: task 999 not found\n")


def _read_all(fd: int, procs: list[subprocess.Popen]) -> str:
    """Everything the processes write to the terminal until they have all exited."""
    data = b""
    while True:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                data += os.read(fd, 65536)
            except OSError:  # every writer closed its end (Linux: EIO)
                break
        elif all(p.poll() is not None for p in procs):
            break
    return data.decode()


def _on_a_terminal(project, *args, logs: bool = False) -> tuple[subprocess.Popen, int]:
    """`heartbeat ARGS` with its stdout (and with `logs`, its stderr) on a new pseudo-terminal;
    the process and the terminal's reading end."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*processes.HEARTBEAT, "--config", str(project / "heartbeat.toml"), *args],
                            cwd=project, stdout=slave, stderr=slave if logs else subprocess.DEVNULL)
    os.close(slave)
    return proc, master


@pytest.mark.slow
def test_tasks_watch_draws_its_bar_on_a_terminal(tmp_path):
    project = _project(tmp_path)
    task_id = _queue(project)
    watching, master = _on_a_terminal(project, "tasks", "watch", str(task_id), "--every", "0.05")
    first = processes.wait_for(lambda: select.select([master], [], [], 0.2)[0] and os.read(master, 65536),
                               "the watch's first frame")
    processes.hb(project, "tick", "--until-idle")
    screen = first.decode() + _read_all(master, [watching])
    assert screen.startswith(f"task {task_id} demo-export [....................]    - 0/0  pending")
    os.close(master)
    assert watching.wait(timeout=processes.DEADLINE) == 0
    assert screen.endswith(f"task {task_id} demo-export [####################] 100% 300/300  "
                           "300 processed, 0 skipped, 0 errors  completed\r\n")
    assert "\r\x1b[J" in screen


@pytest.mark.slow
def test_tick_until_idle_draws_bars_on_a_terminal_with_its_logs_above_them(tmp_path):
    project = _project(tmp_path)
    processes.hb(project, "demo", "init", "--products", "1200", "--force")
    task_id = _queue(project)
    ticking, master = _on_a_terminal(project, "tick", "--until-idle", logs=True)
    screen = _read_all(master, [ticking])
    os.close(master)
    assert ticking.wait(timeout=processes.DEADLINE) == 0
    lines = [line.rsplit("\r\x1b[J", 1)[-1] for line in screen.split("\r\n")]  # as the screen shows them
    assert lines[-2].endswith(f"task {task_id} demo-export [####################] 100% 1200/1200  "
                              "1200 processed, 0 skipped, 0 errors  completed")
    bars = [f"task {task_id} demo-export [#######", f"task {task_id} demo-export [#############"]
    assert all(any(bar in line for line in lines) for bar in bars)  # after batches 1 and 2 of 3
    logged = [line for line in lines if "batch.committed" in line]
    assert len(logged) == 3 and not any("demo-export [" in line for line in logged)  # above the bars
