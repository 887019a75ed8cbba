"""Heartbeat scenarios on an injected clock (no sleeps), on SQLite and on MariaDB."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connectors.prestashop import create_demo_shop
from reports import export_file
from tests.helpers import assert_counters_match_items, execute, make_config, make_heartbeat

PRODUCTS = 25


@pytest.fixture
def shop(shop_url):
    create_demo_shop(shop_url, products=PRODUCTS)
    return shop_url


def beat_for(tmp_path, db_url, shop, clock, **profile):
    return make_heartbeat(make_config(tmp_path, db_url, shop, **profile), clock)


def queue(beat, clock, name="export-products"):
    profile = beat.config.profile(name)
    return beat.store.create(profile, "manual", clock.now(), clock.now())


def test_queued_task_is_pending_until_a_tick(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock)
    task = queue(beat, clock)
    assert beat.store.get(task.id).status == "pending"
    assert beat.store.get(task.id).progress.total == 0


def test_batches_of_batch_size_per_tick_until_completed(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=10)
    task = queue(beat, clock)
    seen = []
    for _ in range(3):
        beat.tick(clock.advance(60))
        t = beat.store.get(task.id)
        seen.append((t.status.value, t.progress.pending))
        assert_counters_match_items(beat.store, task.id)
    assert seen == [("running", 15), ("running", 5), ("completed", 0)]
    done = beat.store.get(task.id)
    assert done.progress.processed == PRODUCTS and done.batches == 3
    assert done.started_at is not None and done.finished_at is not None
    assert done.message.startswith("completed: 25 items")


def test_a_slot_due_while_its_profile_runs_is_missed(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock)
    first = queue(beat, clock)
    beat.tick(clock.advance(1))
    profile = beat.config.profile("export-products")
    second = beat.store.create(profile, "schedule", clock.now(), clock.now())
    beat.tick(clock.advance(1))
    missed = beat.store.get(second.id)
    assert missed.status == "missed"
    why = f"task {first.id} of profile export-products was still running at 09:00 UTC"
    assert missed.message == why
    assert missed.finished_at is not None and missed.progress.total == 0
    log = [(line.level, line.message) for line in beat.store.log(second.id)]
    assert log == [("warning", f"missed: {why}")]


def test_a_run_queued_by_a_person_while_its_profile_runs_waits_then_starts(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=5)
    first = queue(beat, clock)
    beat.tick(clock.advance(1))
    second = queue(beat, clock)
    beat.tick(clock.advance(60))
    waiting = beat.store.get(second.id)
    why = f"waiting: task {first.id} of profile export-products is running; this one starts when it ends"
    assert (waiting.status, waiting.message) == ("pending", why)
    beat.run_until_idle()
    done = beat.store.get(second.id)
    assert done.status == "completed" and done.message != why
    log = [line.message for line in beat.store.log(second.id)]
    assert log[0] == why and log[1].startswith("started after waiting 1 min 0 s (waiting: task")


def test_slot_is_not_missed_when_the_running_task_completes_in_the_same_tick(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, schedule="*/5 * * * *", batch_size=10)
    beat.tick(clock.now())  # learns the schedule: next slot 09:05
    first = queue(beat, clock)
    beat.tick(clock.advance(60))  # 09:01:30: started, batch 1
    beat.tick(clock.advance(60))  # 09:02:30: batch 2, 5 items left
    report = beat.tick(clock.advance(160))  # 09:05:10: the slot is due as the first task's last batch runs
    [slot] = report.created
    done, second = beat.store.get(first.id), beat.store.get(slot)
    assert (done.status, done.batches) == ("completed", 3)
    assert (second.status, second.batches, second.progress.handled) == ("running", 1, 10)
    assert report.started == [slot] and report.batches == 2


def test_log_lines_carry_the_time_of_their_event_not_of_the_tick(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=100)
    worker = beat.runner.worker(beat.config.profile("export-products"))
    work = worker.process
    worker.process = lambda *args: (clock.advance(7), work(*args))[1]  # a batch that takes 7 s
    task = queue(beat, clock)
    tick_at = clock.advance(1)
    beat.tick(tick_at)
    log = {line.message.split(":")[0]: line.at for line in beat.store.log(task.id)}
    committed = (tick_at + timedelta(seconds=7)).replace(tzinfo=None)
    assert log == {"task started": tick_at.replace(tzinfo=None), "batch 1": committed, "completed": committed}
    assert beat.store.get(task.id).finished_at == tick_at + timedelta(seconds=7)


def test_schedule_creates_pending_task_at_its_slot(tmp_path, db_url, shop, clock):
    # clock starts at 09:00:30; */5 -> first slot 09:05
    beat = beat_for(tmp_path, db_url, shop, clock, schedule="*/5 * * * *", batch_size=100)
    beat.tick(clock.now())
    assert beat.store.list() == []  # a newly seen schedule waits for its next slot
    beat.tick(clock.advance(240))  # 09:04:30
    assert beat.store.list() == []
    report = beat.tick(clock.advance(40))  # 09:05:10
    [task] = beat.store.list()
    assert report.created == [task.id]
    assert task.trigger == "schedule"
    assert task.scheduled_at.strftime("%H:%M:%S") == "09:05:00"
    assert task.status == "completed"  # due at once: started and its single batch done in the tick


def test_slots_missed_while_down_coalesce_into_one_task(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, schedule="*/5 * * * *", batch_size=100)
    beat.tick(clock.now())  # learns the schedule: next slot 09:05
    beat.tick(clock.advance(3600))  # 10:00:30: slots 09:05 ... 10:00 = 12 slots
    [task] = beat.store.list()
    assert task.scheduled_at.strftime("%H:%M") == "10:00"
    log = [line.message for line in beat.store.log(task.id)]
    assert any("11 earlier slots" in m and "coalesced" in m for m in log), log
    beat.tick(clock.advance(60))  # 10:01:30: next slot is 10:05, nothing new
    assert len(beat.store.list()) == 1


def test_one_slot_missed_while_down_is_worded_in_the_singular(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, schedule="*/5 * * * *", batch_size=100)
    beat.tick(clock.now())  # next slot 09:05
    beat.tick(clock.advance(600))  # 09:10:30: slots 09:05 and 09:10
    [task] = beat.store.list()
    assert beat.store.log(task.id)[0].message == (
        "1 earlier slot since 2026-11-02 09:05 UTC was missed while no heartbeat ran; "
        "coalesced into this task")


def test_misfire_grace_makes_late_task_missed(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, schedule="0 * * * *", misfire_grace=300)
    beat.tick(clock.now())  # next slot 10:00
    beat.tick(clock.advance(3600 + 600))  # 10:10:30, ten minutes late
    [task] = beat.store.list()
    assert task.status == "missed"
    assert task.message == "too late for the schedule: 630 s after its slot, misfire_grace is 300 s"
    assert [line.message for line in beat.store.log(task.id)] == [f"missed: {task.message}"]


def test_fatal_start_error_marks_task_error_with_reason(tmp_path, db_url, clock):
    beat = beat_for(tmp_path, db_url, "mysql+pymysql://nobody:s3cret@127.0.0.1:1/none", clock)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))
    failed = beat.store.get(task.id)
    assert failed.status == "error"
    assert "cannot connect" in failed.message and "s3cret" not in failed.message
    assert failed.finished_at is not None


def test_empty_shop_is_an_error_with_the_seeds_message(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=1)
    from sqlalchemy import create_engine, text

    engine = create_engine(shop_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ps_product_shop"))
    engine.dispose()
    beat = beat_for(tmp_path, db_url, shop_url, clock)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))
    assert beat.store.get(task.id).message == (
        "could not grab data from connection shop, No available items to grab")
    assert beat.store.get(task.id).status == "error"


def test_an_allowed_empty_source_completes_at_start_with_one_line(tmp_path, db_url, shop_url, clock):
    create_demo_shop(shop_url, products=1)
    execute(shop_url, "DELETE FROM ps_product_shop")
    options = {"entity": "products", "full": False, "allow_empty": True}
    beat = beat_for(tmp_path, db_url, shop_url, clock, options=options)
    task = queue(beat, clock)
    report = beat.tick(clock.advance(1))
    done = beat.store.get(task.id)
    assert (done.status, done.message, done.batches, done.progress.total) == (
        "completed", "source is empty: nothing to do", 0, 0)
    assert done.started_at == done.finished_at == clock.now()
    assert [line.message for line in beat.store.log(task.id)] == ["source is empty: nothing to do"]
    assert report.started == [task.id] and report.batches == 0


def test_kill_cancels_pending_items_and_stops_processing(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=10)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))
    killed = beat.store.kill(task.id, clock.now())
    assert killed.status == "killed"
    assert killed.progress.cancelled == 15 and killed.progress.pending == 0
    assert_counters_match_items(beat.store, task.id)
    beat.tick(clock.advance(60))
    assert beat.store.get(task.id).progress.processed == 10


def test_export_file_holds_each_processed_product_once(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=7)
    task = queue(beat, clock)
    beat.run_until_idle()
    done = beat.store.get(task.id)
    doc = json.loads(b"".join(export_file.read(done)))
    ids = [p["id_product"] for p in doc["products"]]
    assert len(ids) == done.progress.processed == PRODUCTS
    assert len(set(ids)) == PRODUCTS
    assert doc["task"]["id"] == task.id


def test_a_new_owner_takes_over_a_dead_owners_batch_and_logs_the_restart(tmp_path, db_url, shop, clock):
    config = make_config(tmp_path, db_url, shop, batch_size=10)
    first = make_heartbeat(config, clock, owner="other-host:1:1")
    task = queue(first, clock)
    first.tick(clock.advance(1))
    assert first.store.get(task.id).lease_until is None  # between batches nobody holds a lease
    first.store.claim(task.id, first.owner, clock.now(), first.lease)  # then dies mid-batch
    second = make_heartbeat(config, clock, owner="test-host:2:2")
    assert second.tick(clock.advance(60)).batches == 0  # its lease still runs: it may be alive
    clock.advance(first.lease.total_seconds())
    second.run_until_idle()
    done = second.store.get(task.id)
    assert done.status == "completed" and done.progress.processed == PRODUCTS
    log = [line.message for line in second.store.log(task.id)]
    assert any(m.startswith("process restarted: processor no longer exists; resuming at item 11 of 25; "
                            "it died while handling items 11 to 20") for m in log), log


def test_daemons_share_the_batches_of_a_task(tmp_path, db_url, shop, clock):
    config = make_config(tmp_path, db_url, shop, batch_size=10)
    first, second = (make_heartbeat(config, clock, owner=o) for o in ("host-a:1:1", "host-b:2:2"))
    task = queue(first, clock)
    first.tick(clock.advance(1))
    assert second.tick(clock.advance(1)).batches == 1  # the next batch is anyone's
    assert first.store.get(task.id).progress.processed == 20


def test_unwritable_export_directory_ends_the_task_with_the_reason(tmp_path, db_url, shop, clock):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "exports").write_text("a file where the directory should be")
    beat = beat_for(tmp_path, db_url, shop, clock)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))
    failed = beat.store.get(task.id)
    assert failed.status == "error"
    assert failed.message.startswith(f"cannot write {tmp_path / 'data' / 'exports'}")


def test_a_task_ending_in_error_cancels_its_pending_items_with_the_reason(tmp_path, db_url, shop, clock):
    from dataclasses import replace

    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=10)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))  # started, first batch of 10 done
    gone = make_heartbeat(replace(beat.config, profiles=()), clock)  # the profile was removed
    gone.tick(clock.advance(60))
    failed = beat.store.get(task.id)
    reason = "profile 'export-products' is no longer configured"
    assert (failed.status, failed.message) == ("error", reason)
    assert (failed.progress.processed, failed.progress.cancelled, failed.progress.pending) == (10, 15, 0)
    assert_counters_match_items(beat.store, task.id)
    details = {r.detail for r in beat.store.items(task.id) if r.status == "cancelled"}
    assert details == {f"task ended in error: {reason}"}
    assert [line.message for line in beat.store.log(task.id)][-1] == (
        f"error: {reason}; 15 pending items cancelled")


def test_manual_task_is_not_missed_for_being_late(tmp_path, db_url, shop, clock):
    beat = beat_for(tmp_path, db_url, shop, clock, misfire_grace=5, batch_size=100)
    task = queue(beat, clock)
    beat.tick(clock.advance(600))
    assert beat.store.get(task.id).status == "completed"


def test_reenabled_profile_waits_for_its_next_slot(tmp_path, db_url, shop, clock):
    from dataclasses import replace

    beat = beat_for(tmp_path, db_url, shop, clock, schedule="*/5 * * * *", batch_size=100)
    beat.tick(clock.now())  # next slot 09:05
    off = make_heartbeat(replace(beat.config, profiles=(replace(beat.config.profiles[0], enabled=False),)),
                         clock)
    off.tick(clock.advance(3600))  # disabled for an hour: no tasks
    assert off.store.list() == []
    beat.tick(clock.advance(60))  # enabled again at 10:01:30: nothing until 10:05
    assert beat.store.list() == []
    beat.tick(clock.advance(240))
    [task] = beat.store.list()
    assert task.scheduled_at.strftime("%H:%M") == "10:05"


def test_a_failure_seen_by_every_tick_is_noted_once(tmp_path, db_url, clock):
    beat = beat_for(tmp_path, db_url, "sqlite:///unused.db", clock)
    task = queue(beat, clock)
    for _ in range(3):
        beat.store.note(task.id, clock.advance(60), "connection shop: lost; the batch will be retried")
    assert [line.message for line in beat.store.log(task.id)].count(
        "connection shop: lost; the batch will be retried") == 1


def test_a_batch_over_an_item_no_longer_pending_is_refused_and_rolls_back(tmp_path, db_url, shop, clock):
    """The item table (tasks.states): outcomes are written over pending items only."""
    beat = beat_for(tmp_path, db_url, shop, clock, batch_size=10)
    task = queue(beat, clock)
    beat.tick(clock.advance(1))  # started, first batch of 10 done
    execute(db_url, f"UPDATE hb_items SET status = 'skipped' WHERE task_id = {task.id} AND position = 12")
    beat.tick(clock.advance(60))
    t = beat.store.get(task.id)
    assert (t.status, t.progress.processed, t.handled_upto, t.batches) == ("running", 10, 10, 1)
    assert beat.store.item_counts(task.id) == {"processed": 10, "skipped": 1, "pending": 14}
    assert not any(line.message.startswith("batch 2:") for line in beat.store.log(task.id))
