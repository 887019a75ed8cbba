"""Live progress in the terminal: a bar per task with its counters, rate and ETA.

`heartbeat tasks watch ID` redraws one task's line until the task ends; `heartbeat tick
--until-idle` redraws the lines of the tasks each of its heartbeats worked on. Both draw only when
their output is a terminal: piped or redirected, they print nothing of it (watch still waits for
the end, and exits 0 when the task completed, 1 for any other end).

The rate is measured, not taken from the task's work time: items handled since the first look,
over the clock's monotonic time since then, so the ETA includes the waits between heartbeats.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

from core.clock import Clock
from core.errors import HeartbeatError
from reports.action_log import plural
from tasks.models import Task
from tasks.states import TaskStatus

BAR = 20  # characters of the bar itself


class Rate:
    """Items per second of one task, measured from the first look on."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.first: tuple[float, int] | None = None

    def update(self, handled: int) -> float | None:
        """The rate since the first look (None until something was handled over some time)."""
        now = self.clock.monotonic()
        if self.first is None:
            self.first = (now, handled)
            return None
        seconds, items = now - self.first[0], handled - self.first[1]
        return items / seconds if seconds > 0 and items > 0 else None


def duration(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def line(task: Task, rate: float | None) -> str:
    """One task's line: id, profile, bar, percentage, counters, then the rate and ETA while it
    runs, or its status once it has ended."""
    p = task.progress
    done = p.total - p.pending
    filled = BAR * done // p.total if p.total else (BAR if task.status.finished else 0)
    pct = f"{100 * done // p.total:3d}%" if p.total else "   -"
    head = f"task {task.id} {task.profile} [{'#' * filled}{'.' * (BAR - filled)}] {pct} {done}/{p.total}"
    counts = f"{p.processed} processed, {p.skipped} skipped, {plural(p.error, 'error')}"
    if p.cancelled:
        counts += f", {p.cancelled} cancelled"
    if task.status.finished:
        return f"{head}  {counts}  {task.status.value}"
    if task.status is TaskStatus.PENDING:
        return f"{head}  pending"
    speed = f"{rate:.0f} items/s" if rate else "- items/s"
    eta = f"ETA {duration(p.pending / rate)}" if rate else "ETA -"
    return f"{head}  {counts}  {speed}  {eta}"


class Display:
    """Lines redrawn in place at the bottom of a terminal (cut to its width, so none wraps); log
    lines written through `LogsAbove` scroll above them."""

    def __init__(self, out: TextIO):
        self.out, self.lines, self.drawn = out, [], 0

    def show(self, lines: list[str]) -> None:
        self.lines = lines
        self._erase()
        self._draw()

    def around(self, write: Callable[[], object]) -> None:
        """Erase the lines, `write()` something else to the terminal, draw them again below it."""
        self._erase()
        self.out.flush()
        write()
        self._draw()

    def close(self) -> None:
        """Leave the last lines drawn, and the cursor on the line after them."""
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
            self.drawn = 0

    def _erase(self) -> None:
        if self.drawn:  # to the start of the first line drawn, then clear to the end of the screen
            self.out.write((f"\x1b[{self.drawn - 1}F" if self.drawn > 1 else "\r") + "\x1b[J")
            self.drawn = 0

    def _draw(self) -> None:
        width = max(20, shutil.get_terminal_size().columns - 1)
        if self.lines:
            self.out.write("\n".join(text[:width] for text in self.lines))
            self.drawn = len(self.lines)
        self.out.flush()


class LogsAbove:
    """A log stream for a terminal bars are drawn on: each whole line written goes above the bars
    (`heartbeat tick --until-idle` on a terminal logs through it)."""

    def __init__(self, stream: TextIO, display: Display):
        self.stream, self.display, self.pending = stream, display, ""

    def write(self, text: str) -> int:
        self.pending += text
        if "\n" in self.pending:
            done, _, self.pending = self.pending.rpartition("\n")
            self.display.around(lambda: (self.stream.write(done + "\n"), self.stream.flush()))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def watch(show_task: Callable[[int], Task], task_id: int, out: TextIO, clock: Clock | None = None,
          every: float = 1.0, wait: Callable[[float], object] = time.sleep) -> int:
    """Follow a task until it ends, drawing its line on `out` if it is a terminal; looks every
    `every` seconds through `wait`. Returns 0 when it completed, 1 for any other end. Raises
    TaskNotFound (the task does not exist, or was deleted meanwhile)."""
    display = Display(out) if out.isatty() else None
    rate = Rate(clock or Clock())
    try:
        while True:
            task = show_task(task_id)
            speed = rate.update(task.progress.handled)
            if display is not None:
                display.show([line(task, speed)])
            if task.status.finished:
                return 0 if task.status is TaskStatus.COMPLETED else 1
            wait(every)
    finally:
        if display is not None:
            display.close()


class TickProgress:
    """`tick --until-idle`'s lines: after each heartbeat, one per task it worked on (with `out` a
    terminal; else nothing)."""

    def __init__(self, show_task: Callable[[int], Task], out: TextIO, clock: Clock | None = None):
        self.show_task, self.clock = show_task, clock or Clock()
        self.display = Display(out) if out.isatty() else None
        self.rates: dict[int, Rate] = {}
        self.seen: list[int] = []

    def __call__(self, task_ids: list[int]) -> None:
        if self.display is None:
            return
        self.seen += [i for i in task_ids if i not in self.seen]
        lines = []
        for task_id in self.seen:
            try:
                task = self.show_task(task_id)
            except HeartbeatError:  # deleted meanwhile, or the database away: the heartbeat logs say so
                continue
            rate = self.rates.setdefault(task_id, Rate(self.clock))
            lines.append(line(task, rate.update(task.progress.handled)))
        if lines:
            self.display.show(lines)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
