"""The tasks page's timeline: the last hours per profile as bars (start to end, coloured by status,
a hover with the counters), laid out here and drawn server-side as SVG by templates/_timeline.html
from TaskManager.timeline, the same data GET /api/timeline answers."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import as_utc

WIDTH, LANE, LABEL, PAD = 960, 22, 150, 16  # SVG units: width, a profile's row, the names, right margin
MIN_BAR = 2  # a task of a few seconds still shows


def layout(lanes: list[dict], now: datetime, hours: int) -> dict:
    """{"width", "height", "label", "ticks": [{"x", "text"}], "rows": [{"y", "profile", "bars":
    [{"x", "w", "id", "status", "title"}]}]} for `lanes` (TaskManager.timeline) ending at `now`."""
    start, span = now - timedelta(hours=hours), WIDTH - LABEL - PAD
    scale = span / (hours * 3600)

    def x(at: datetime) -> float:
        return LABEL + max(0.0, (at - start).total_seconds()) * scale

    rows = []
    for n, lane in enumerate(lanes):
        bars = []
        for task in lane["tasks"]:
            begin = _time(task["started_at"])
            end = _time(task["finished_at"]) if task["finished_at"] else now
            left = x(begin)
            width = max(MIN_BAR, x(end) - left)
            left = min(left, WIDTH - PAD - width)  # a task of the last minutes still shows whole
            bars.append({"x": round(left, 1), "w": round(width, 1), "id": task["id"],
                         "status": task["status"], "title": _title(task, begin, end)})
        rows.append({"y": 20 + n * LANE, "profile": lane["profile"], "bars": bars})
    step = max(1, hours // 6)
    ticks = [{"x": round(LABEL + h * 3600 * scale, 1), "text": f"-{hours - h} h" if h < hours else "now"}
             for h in range(0, hours + 1, step)]
    return {"width": WIDTH, "height": 20 + len(lanes) * LANE + 4, "label": LABEL, "ticks": ticks,
            "rows": rows, "hours": hours}


def _title(task: dict, begin: datetime, end: datetime) -> str:
    p = task["progress"]
    seconds = int((end - begin).total_seconds())
    if seconds >= 3600:
        took = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    else:
        took = f"{seconds // 60} min {seconds % 60} s"
    return (f"Task {task['id']} · {task['status']} · {begin:%H:%M} UTC, {took}\n"
            f"Total {p['total']} · Pending {p['pending']} · Processed {p['processed']}"
            f" · Skipped {p['skipped']} · Cancelled {p['cancelled']} · Error {p['error']}")


def _time(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
