"""A smoke run of the benchmark instrument (bench/, docs/performance.md): it runs end to end on a
small SQLite shop and every figure it gives is a positive number. The targets themselves are
checked by `make bench` on a full-size run, never by timed tests. (MariaDB is left out here: its
per-database DDL makes even a tiny run take longer than the rest of this file's budget.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def numbers(node, path=""):
    """Every (path, number) leaf under `node` (booleans are not figures)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from numbers(value, f"{path}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, node


@pytest.mark.slow
def test_bench_smoke_run_gives_every_figure_as_a_positive_number(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--products", "2000", "--db", "sqlite", "--skip-memory",
         "--repeat", "1", "--idle-tasks", "2000", "--idle-ticks", "11", "--out", str(out),
         "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    doc = json.loads(out.read_text())

    s = doc["results"]["sqlite"]
    assert not [k for k, v in s.items() if "error" in v], s
    for kind in ("export", "import"):
        assert s[kind]["limit"]["items_per_s"] > 0
        assert s[kind]["same_output"] is True  # product, limit (and peer) did the same work
    assert s["export"]["product"]["items_per_s"] > 0
    assert s["export"]["ratios"]["product_to_limit"] > 0
    assert s["enqueue"]["product_s"] > 0 and s["idle_tick"]["median_ms"] > 0
    maintenance = s["maintenance"]  # a products analyze-integrity: the product's figure alone
    assert maintenance["product"]["items_per_s"] > 0
    assert not {"limit", "peer", "ratios"} & set(maintenance)
    for path, value in numbers(doc["results"]):
        assert value > 0, path
    assert doc["machine"]["cores"] > 0 and doc["parameters"]["products"] == 2000
    assert "export (items/s)" in run.stdout and "analyze-integrity (items/s)" in run.stdout
