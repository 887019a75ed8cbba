"""The CLI side of issue 25 through the real `heartbeat` command: `connections list|check|stats`,
`profiles pause|resume` (and `profiles list --json`'s "paused", `status`'s warning) and
`notify retry`, with their exit codes and one-line refusals."""

from __future__ import annotations

import json

import pytest

from tests.helpers import execute
from tests.processes import hb, make_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("screens-cli")
    project = make_project(tmp, f"sqlite:///{tmp / 'state.db'}")
    hb(project, "demo", "init", "--products", "30")
    return project


def test_connections_list_and_its_json(project):
    rows = json.loads(hb(project, "connections", "list", "--json").stdout)
    assert [(r["name"], r["type"]) for r in rows] == [("demo_shop", "prestashop"), ("exports", "directory"),
                                                      ("supplier_feed", "csv")]
    text = hb(project, "connections", "list").stdout.splitlines()
    assert text[0].split() == ["Name", "Type", "Location", "Profiles"]
    assert text[1].startswith("demo_shop") and text[1].endswith("demo-export, demo-import")


def test_connections_check_exit_codes(project):
    ok = hb(project, "connections", "check", "demo_shop")
    assert ok.returncode == 0 and ok.stdout.startswith("demo_shop: reachable (")
    missing = hb(project, "connections", "check", "nowhere", check=False)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == ("heartbeat: connection 'nowhere' not found; known connections: demo_shop, "
                              "exports, supplier_feed\n")


def test_connections_check_of_an_unreachable_feed_is_exit_1_with_the_reason(tmp_path):
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    path = project / "heartbeat.toml"
    path.write_text(path.read_text().replace("samples/supplier-products.csv", "samples/gone.csv"))
    down = hb(project, "connections", "check", "supplier_feed", "--json", check=False)
    assert down.returncode == 1 and json.loads(down.stdout)["reachable"] is False
    assert down.stderr.startswith("heartbeat: supplier_feed: not reachable: feed supplier_feed: ")
    assert "gone.csv" in down.stderr and len(down.stderr.splitlines()) == 1


def test_connections_stats_counts_now(project):
    hb(project, "profiles", "run", "demo-export")
    hb(project, "tick", "--until-idle")
    shop = f"sqlite:///{project / 'data' / 'demo-shop.db'}"
    execute(shop, "UPDATE ps_product SET price = price + 1 WHERE id_product <= 4",
            "UPDATE ps_product_shop SET price = price + 1 WHERE id_product <= 4")
    out = hb(project, "connections", "stats", "demo_shop").stdout.splitlines()
    assert out[0] == "demo-export (export): 0 new, 4 changed, 0 deleted, 26 unchanged, 0 invalid"
    assert out[1] == "demo-import (import): no import yet"


def test_pause_resume_and_status(project):
    assert hb(project, "profiles", "pause", "demo-export").stdout == (
        "profile demo-export paused: its schedule creates no tasks\n")
    twice = hb(project, "profiles", "pause", "demo-export", "--json", check=False)
    assert (twice.returncode, twice.stdout, twice.stderr) == (1, "", "heartbeat: profile demo-export is "
                                                                     "paused already\n")
    rows = {p["name"]: p for p in json.loads(hb(project, "profiles", "list", "--json").stdout)}
    assert rows["demo-export"]["paused"] is True and rows["demo-import"]["paused"] is False
    status = hb(project, "status", check=False)
    assert "WARNING: profile demo-export is paused since " in status.stdout
    assert json.loads(hb(project, "profiles", "resume", "demo-export", "--json").stdout)["paused"] is False
    assert "paused" not in hb(project, "status", check=False).stdout
    unknown = hb(project, "profiles", "resume", "nope", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("heartbeat: profile 'nope' not found")


def test_notify_retry_refusals(project):
    missing = hb(project, "notify", "retry", "7", check=False)
    assert (missing.returncode, missing.stderr) == (1, "heartbeat: notification 7 not found\n")
    bad = hb(project, "notify", "retry", "0", check=False)
    assert bad.returncode == 2 and "0 is not in the range x>=1" in bad.stderr
