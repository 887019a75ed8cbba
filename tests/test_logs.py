"""Logs: JSON lines when stderr is not a terminal, a readable console format on a terminal."""

from __future__ import annotations

import io
import json
import os

import structlog

from heartbeat.ops import logs


def test_json_lines_when_not_a_terminal():
    out = io.StringIO()
    logs.configure("auto", "info", stream=out)
    structlog.get_logger("heartbeat").info("task.started", task_id=7, profile="demo-export")
    line = json.loads(out.getvalue())
    assert (line["event"], line["task_id"], line["profile"], line["level"]) == (
        "task.started", 7, "demo-export", "info")
    assert line["timestamp"].endswith("Z")


def test_console_format_on_a_real_terminal():
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as tty:
        logs.configure("auto", "info", stream=tty)
        structlog.get_logger("heartbeat").info("batch.committed", task_id=3)
        tty.flush()
        text = os.read(leader, 4096).decode()
    os.close(leader)
    assert "batch.committed" in text and "task_id" in text
    assert not text.lstrip().startswith("{")


def test_level_filters_debug_out():
    out = io.StringIO()
    logs.configure("json", "warning", stream=out)
    log = structlog.get_logger("heartbeat")
    log.info("task.started")
    log.warning("batch.retry", task_id=1)
    assert [json.loads(x)["event"] for x in out.getvalue().splitlines()] == ["batch.retry"]
