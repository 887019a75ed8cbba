"""A full disk is an outage, not a verdict: an export whose directory (a real 300 KB tmpfs) fills up
keeps its place, says in its action log which file needs how many bytes, is retried with the
shop outage's back-off, and resumes byte-exact once space returns; free space under the threshold
is warned about."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import structlog

from connectors.prestashop import create_demo_shop
from core.config import Connection
from heartbeat.engine import space
from reports import export_file
from tasks.states import TaskStatus
from tests.helpers import make_config, make_heartbeat, manager

PRODUCTS = 250  # about 750 KB of export file (format /2): more than twice the small disk


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KB tmpfs mounted for the test (root only); `resize(size)` gives it more room."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")

    def resize(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)

    try:
        yield path, resize
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def export_config(tmp_path: Path, state_url: str, shop_url: str, directory: Path):
    cfg = make_config(tmp_path, state_url, shop_url, batch_size=40, target="exports")
    exports = Connection("exports", "directory", {"path": directory})
    return dataclasses.replace(cfg, connections={**cfg.connections, "exports": exports})


def test_an_export_on_a_full_disk_waits_and_resumes_byte_exact(tmp_path, small_disk, clock):
    disk, resize = small_disk
    shop = f"sqlite:///{tmp_path / 'shop.db'}"
    create_demo_shop(shop, products=PRODUCTS, seed=7)
    reference = make_heartbeat(export_config(tmp_path / "ref", f"sqlite:///{tmp_path / 'ref.db'}", shop,
                                             tmp_path / "ref-exports"), type(clock)(clock.now()))
    ref_task = manager(reference).queue("export-products")
    reference.run_until_idle()

    beat = make_heartbeat(export_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", shop, disk), clock)
    task = manager(beat).queue("export-products")
    beat.run_until_idle()
    stuck = beat.store.get(task.id)
    assert stuck.status is TaskStatus.RUNNING and 0 < stuck.progress.pending < PRODUCTS
    path = Path(stuck.export_path)
    assert path.stat().st_size == stuck.export_bytes  # nothing half-written is left behind
    [line] = [line for line in beat.store.log(task.id) if line.level == "warning"]
    assert line.message.startswith(f"no space left on device: {path} needs ")
    needed, free = (int(n.replace(",", "")) for n in line.message.split()[7:10:2])
    assert needed > free and free == space.free_bytes(disk)
    assert line.message.endswith(" bytes free there; the batch will be retried")

    clock.advance(30)  # the back-off: interval x 2^n (60 s, then 120 s...)
    assert beat.run_until_idle() == 1 and beat.store.get(task.id).progress == stuck.progress
    clock.advance(30)
    beat.run_until_idle()  # tried again, failed again: no second line
    assert [x.level for x in beat.store.log(task.id)].count("warning") == 1

    resize("2m")  # space returns
    clock.advance(120)
    beat.run_until_idle()
    done = beat.store.get(task.id)
    assert done.status is TaskStatus.COMPLETED and done.progress.processed == PRODUCTS
    assert "space available again after 2 failed attempts" in [x.message for x in beat.store.log(task.id)]
    assert b"".join(export_file.read(done)) == b"".join(export_file.read(reference.store.get(ref_task.id)))
    assert path.read_bytes() == Path(reference.store.get(ref_task.id).export_path).read_bytes()


def test_a_directory_with_less_free_space_than_the_threshold_is_warned_about(tmp_path, small_disk):
    disk, _ = small_disk
    cfg = export_config(tmp_path, "sqlite://", "sqlite://", disk)
    free = space.free_bytes(disk)
    assert [w.to_json() for w in space.warnings(dataclasses.replace(cfg, min_free_mb=1))] == [{
        "path": str(disk), "free_bytes": free, "threshold_bytes": 1024 * 1024,
        "message": f"{disk}: {free / 1024 / 1024:.1f} MB free, under the warning threshold of 1 MB "
                   "([heartbeat] min_free_mb)"}]
    assert space.warnings(dataclasses.replace(cfg, min_free_mb=0.25)) == []
    assert space.warnings(dataclasses.replace(cfg, min_free_mb=0)) == []
    assert space.watched(cfg) == [tmp_path / "data", disk]


def test_an_export_directory_not_made_yet_is_judged_by_its_parent(tmp_path, small_disk):
    disk, _ = small_disk
    assert space.free_bytes(disk / "exports" / "2026") == space.free_bytes(disk)


def test_the_heartbeat_logs_low_space_once_an_hour(tmp_path, small_disk, clock):
    disk, _ = small_disk
    cfg = export_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", "sqlite://", disk)
    beat = make_heartbeat(dataclasses.replace(cfg, min_free_mb=1), clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            beat.tick()
            clock.advance(1800)
    low = [e for e in logs if e["event"] == "disk.low_space"]
    assert [(e["path"], e["free_bytes"], e["threshold_bytes"]) for e in low] == [
        (str(disk), space.free_bytes(disk), 1024 * 1024)] * 2  # at 0 and 60 min, not at 30
