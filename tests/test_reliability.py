"""Fault tolerance with real processes, real signals and a real database outage."""

from __future__ import annotations

import json
import random
import signal

import pytest
import sqlalchemy as sa

from connectors.prestashop import create_demo_shop
from core.errors import StateDatabaseError
from heartbeat.engine import sacrificial
from tests.helpers import (
    assert_counters_match_items,
    execute,
    import_config,
    make_config,
    make_heartbeat,
    make_store,
    redo_chunks,
    shop_rows,
    write_csv,
)
from tests.processes import (
    DEADLINE,
    ROOT,
    alive,
    hb,
    kill_mid_batches,
    make_project,
    run_hooked,
    show,
    start_daemon,
    start_hooked_daemon,
    wait_for,
)
from tests.proxy import Proxy

# -- real processes ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_item_that_kills_its_process_is_given_up_after_three_deaths(tmp_path, db_url):
    project = make_project(tmp_path, db_url)
    hb(project, "demo", "init", "--products", "300")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    first = run_hooked(project, "tick", "--until-idle", crash_on_product=123)
    assert first.returncode == 70  # the daemon died in a batch: nobody knows which item was to blame
    second = run_hooked(project, "tick", "--until-idle", crash_on_product=123)
    assert second.returncode == 0, second.stderr  # suspect items by halving, in child processes
    task = show(project, task_id)
    assert task["status"] == "completed"
    assert task["progress"] == {"total": 300, "pending": 0, "processed": 299, "skipped": 0, "cancelled": 0,
                                "error": 1}
    report = hb(project, "tasks", "report", str(task_id)).stdout.splitlines()
    assert any(r.startswith("123,123,") and "unexpected restart" in r for r in report)
    log = hb(project, "tasks", "log", str(task_id)).stdout
    assert log.count("process restarted") == 1
    died = "item 123 (product 123): its process died (exit 70)"
    deaths = [line for line in log.splitlines() if died in line]
    assert [d.split("), ")[1] for d in deaths] == ["1 of 3 times; trying it again alone",
                                                   "2 of 3 times; trying it again alone",
                                                   "3 of 3 times; giving it up"]
    out = tmp_path / "x.json"
    hb(project, "tasks", "export-file", str(task_id), "-o", str(out))
    ids = [p["id_product"] for p in json.loads(out.read_text())["products"]]
    assert ids == [i for i in range(1, 301) if i != 123]


@pytest.mark.slow
def test_one_tick_after_a_crash_in_a_big_batch_redoes_it_whole_with_one_log_line(tmp_path, db_url):
    """A daemon died in a batch of 2,000 for a reason that does not come back: the next tick redoes
    those items in one child process, as one batch, and says so in one line (not one per item)."""
    project = make_project(tmp_path, db_url)
    config = project / "heartbeat.toml"
    config.write_text(config.read_text().replace("batch_size = 500", "batch_size = 2000"))
    hb(project, "demo", "init", "--products", "4000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    assert run_hooked(project, "tick", crash_on_product=1990).returncode == 70  # died in batch 1
    hb(project, "tick")
    task = show(project, task_id)
    assert task["progress"]["processed"] == 2000 and task["batches"] == 1
    log = hb(project, "tasks", "log", str(task_id)).stdout.splitlines()
    assert "process restarted" in log[1] and len(log) == 3, log
    assert log[2].split("INFO    ")[1].startswith(
        "batch 1: items 1 to 2000 of the interrupted batch, redone: 2000 items in ")
    assert log[2].endswith("2000 processed, 0 skipped, 0 errors; no suspect item left")


def child_runs(record, daemon_pids: set[int]) -> int:
    """The processes other than the daemons that processed a batch, from the hook's record."""
    pids = {int(line.split()[0]) for line in record.read_text().splitlines()}
    return len(pids - daemon_pids)


@pytest.mark.slow
@pytest.mark.parametrize("poison", [(), (700,), (3, 404, 905)])
def test_a_redo_costs_one_child_run_and_about_log2_more_per_item_that_kills_it(tmp_path, poison):
    """A batch of 1,000 whose daemon died: redone whole in one child when no item is to blame; with
    items that kill whatever process handles them, by halving, about log2(1,000) child runs each plus
    their own three deaths, after which each is given up and every other item is exported once."""
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    config = project / "heartbeat.toml"
    config.write_text(config.read_text().replace("batch_size = 500", "batch_size = 1000"))
    hb(project, "demo", "init", "--products", "1000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    record = tmp_path / "batches"
    crash = ",".join(map(str, poison or (500,)))  # no poison: the daemon dies once, for nothing
    first = run_hooked(project, "tick", "--until-idle", crash_on_product=crash, record_batches=record)
    assert first.returncode == 70
    daemons = {int(line.split()[0]) for line in record.read_text().splitlines()}
    second = run_hooked(project, "tick", "--until-idle", record_batches=record,
                        **({"crash_on_product": crash} if poison else {}))
    assert second.returncode == 0, second.stderr
    runs = child_runs(record, daemons)
    task = show(project, task_id)
    assert task["status"] == "completed"
    assert (task["progress"]["processed"], task["progress"]["error"]) == (1000 - len(poison), len(poison))
    deaths = sum(how == "died" for _, _, how in redo_chunks(1000, set(poison)))
    assert runs == deaths + 1  # the rules' chunks (tasks.recovery), each death a child, one goes on
    assert runs <= len(poison) * (10 + 3) + 1  # each: log2(1000) < 10 halvings, its three deaths alone
    log = hb(project, "tasks", "log", str(task_id)).stdout
    for item in poison:
        died = [ln for ln in log.splitlines() if f"item {item} (product {item}): its process died" in ln]
        assert len(died) == 3 and died[-1].endswith("3 of 3 times; giving it up")
    out = tmp_path / "x.json"
    hb(project, "tasks", "export-file", str(task_id), "-o", str(out))
    ids = [p["id_product"] for p in json.loads(out.read_text())["products"]]
    assert ids == [i for i in range(1, 1001) if i not in poison]


@pytest.mark.slow
def test_killing_the_daemon_while_a_suspect_item_is_handled_never_counts_against_it(tmp_path, db_url):
    """An operator, an OOM kill of the daemon or a restart loop during an upgrade may kill the daemon
    again and again while it redoes one suspect item: the item is not to blame, and is processed."""
    project = make_project(tmp_path, db_url, interval=0.2)
    hb(project, "demo", "init", "--products", "300")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    held, holders = tmp_path / "held", []
    for _ in range(5):
        held.unlink(missing_ok=True)
        daemon = start_hooked_daemon(project, hold_on_product=123, hold_file=held)
        try:
            holders.append(int(wait_for(lambda: held.exists() and held.read_text(), "product 123 in hand")))
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.communicate(timeout=DEADLINE)
        wait_for(lambda: not alive(holders[-1]), "the process holding product 123 to end with its daemon")
        holders[-1] = (holders[-1], daemon.pid)
    assert holders[0][0] == holders[0][1]  # first in a plain batch, in the daemon itself
    assert all(child != parent for child, parent in holders[1:])  # then alone, in a sacrificial child
    hb(project, "tick", "--until-idle")
    task = show(project, task_id)
    assert task["status"] == "completed" and task["progress"]["processed"] == 300
    log = hb(project, "tasks", "log", str(task_id)).stdout
    assert log.count("process restarted") == 5 and "its process died" not in log


def die_in_second_batch(config, clock):
    """A task whose first batch (items 1 to 40) committed, and whose owner then died in its second
    (it claimed items 41 to 80, and its lease has run out)."""
    first = make_heartbeat(config, clock, owner="other-host:1:1")
    task = first.store.create(config.profile("export-products"), "manual", clock.now(), clock.now())
    first.tick(clock.advance(1))
    first.store.claim(task.id, first.owner, clock.now(), first.lease)
    clock.advance(first.lease.total_seconds())
    return task


def redo_lines(store, task_id) -> list[str]:
    return [line.message for line in store.log(task_id) if "of the interrupted batch" in line.message]


def test_a_batch_whose_daemon_died_for_nothing_of_its_own_is_redone_whole_in_one_child(tmp_path, db_url,
                                                                                        demo_url, clock):
    """No item is known to be to blame: the next heartbeat redoes the whole interrupted batch in one
    sacrificial child, as one batch with one line; the task then goes on as before."""
    config = make_config(tmp_path, db_url, demo_url, batch_size=40)
    task = die_in_second_batch(config, clock)
    beat = make_heartbeat(config, clock, owner="test-host:2:2")
    beat.tick(clock.advance(1))
    once = beat.store.get(task.id)
    assert (once.handled_upto, once.batches) == (80, 2)
    [line] = redo_lines(beat.store, task.id)
    assert line.startswith("batch 2: items 41 to 80 of the interrupted batch, redone: 40 items in ")
    assert line.endswith(": 40 processed, 0 skipped, 0 errors; no suspect item left")
    beat.run_until_idle()
    done = beat.store.get(task.id)
    assert done.status == "completed" and done.progress.processed == 200 and done.batches == 5
    log = [line.message for line in beat.store.log(task.id)]
    assert len(log) == 3 + 1 + 4  # start, batch 1, restart; the redo; 81-200 in 3, completed
    assert_counters_match_items(beat.store, task.id)
    ids = [p["id_product"] for p in json.loads(open(done.export_path).read())["products"]]
    assert ids == list(range(1, 201))


def test_a_stop_ends_a_redo_after_the_chunk_in_hand(tmp_path, db_url, demo_url, clock):
    """A child died holding items 41 to 80 (one of them is to blame): asked to stop as it starts
    the next redo, the daemon lets its child finish the first half it holds, with the redo's line;
    the next heartbeat halves the rest until it is done."""
    config = make_config(tmp_path, db_url, demo_url, batch_size=40)
    task = die_in_second_batch(config, clock)
    beat = make_heartbeat(config, clock, owner="test-host:2:2")
    held = beat.store.claim(task.id, beat.owner, clock.now(), beat.lease)
    assert (held.position, held.end, held.suspect) == (41, 80, True)
    beat.store.record_crash(task.id, beat.owner, held, clock.now(), "killed by SIGKILL")
    beat.stop.set()
    beat.runner.run(task.id, "export-products")
    assert beat.store.get(task.id).handled_upto == 60
    beat.stop.clear()
    beat.tick(clock.advance(1))
    assert beat.store.get(task.id).handled_upto == 80
    first, rest = redo_lines(beat.store, task.id)
    assert first.startswith("batch 2: items 41 to 60 of the interrupted batch, redone: 20 items in ")
    assert first.endswith("; 20 suspect items left")
    assert rest.startswith("batch 3: items 61 to 80 of the interrupted batch, redone: 20 items in ")
    assert rest.endswith("; no suspect item left")
    died = [line.message for line in beat.store.log(task.id) if "their process died" in line.message]
    assert died == ["items 41 to 80: their process died (killed by SIGKILL); one of them is to blame: "
                    "trying items 41 to 60 next"]
    beat.run_until_idle()
    done = beat.store.get(task.id)
    assert done.status == "completed" and done.batches == 6  # 1-40, the two redos, then 81-200 by 40
    assert_counters_match_items(beat.store, task.id)


def test_a_sacrificial_child_learns_that_the_daemon_is_to_stop():
    looks = iter([False, False])  # not yet when the child starts, nor at the first look since

    def work(stopping) -> dict:
        while not stopping():
            pass
        return {"stopped": True}

    end = sacrificial.run(work, DEADLINE, should_stop=lambda: next(looks, True))
    assert end.message == {"stopped": True}
    assert sacrificial.run(lambda stopping: {"stopping": stopping()}, DEADLINE).message == {"stopping": False}


def test_item_whose_processing_raises_is_an_error_and_the_batch_goes_on(tmp_path, db_url, clock):
    shop_url = f"sqlite:///{tmp_path / 'demo-shop.db'}"
    create_demo_shop(shop_url, products=30)
    engine = sa.create_engine(shop_url)
    with engine.begin() as conn:  # a corrupt field, as an external tool might leave behind
        conn.execute(sa.text("UPDATE ps_product_shop SET price = 'abc' WHERE id_product = 7"))
    engine.dispose()
    beat = make_heartbeat(make_config(tmp_path, db_url, shop_url, batch_size=100), clock)
    task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
    beat.run_until_idle()
    done = beat.store.get(task.id)
    assert done.status == "completed"
    assert (done.progress.processed, done.progress.error) == (29, 1)
    [bad] = [i for i in beat.store.items(task.id) if i.status == "error"]
    assert bad.product_id == 7 and bad.detail
    assert any("item 7 (product 7): error:" in line.message for line in beat.store.log(task.id))


def products_part(path) -> bytes:
    """The export file without its head line (which names the task): the products and the tail."""
    return path.read_bytes().split(b"\n", 1)[1]


@pytest.mark.slow
def test_sigkill_at_random_moments_changes_nothing(tmp_path, db_url):
    rng = random.Random(20261122)
    clean = make_project(tmp_path / "clean", f"sqlite:///{tmp_path / 'clean' / 'state.db'}")
    crash = make_project(tmp_path / "crash", db_url, interval=0.2)
    for project in (clean, crash):
        hb(project, "demo", "init", "--products", "5000")
    clean_id = int(hb(clean, "profiles", "run", "demo-export").stdout.split()[-1])
    hb(clean, "tick", "--until-idle")
    config = crash / "heartbeat.toml"  # small batches: a long task, so every kill lands mid-task
    config.write_text(config.read_text().replace("batch_size = 500", "batch_size = 50"))
    task_id = int(hb(crash, "profiles", "run", "demo-export").stdout.split()[-1])
    landed = kill_mid_batches(crash, db_url, task_id, 12, rng)
    hb(crash, "tick", "--until-idle")  # the rest, back to back
    task = show(crash, task_id)
    assert task["status"] == "completed" and task["progress"]["processed"] == 5000
    assert_counters_match_items(make_store(db_url), task_id)
    outs = []
    for project, tid in ((clean, clean_id), (crash, task_id)):
        hb(project, "tasks", "export-file", str(tid), "-o", str(project / "out.json"))
        outs.append(products_part(project / "out.json"))
    assert outs[0] == outs[1]
    assert landed >= 1
    assert hb(crash, "tasks", "log", str(task_id)).stdout.count("process restarted") == landed


@pytest.mark.slow
def test_sigterm_mid_batch_leaves_no_lease(tmp_path, db_url):
    project = make_project(tmp_path, db_url)
    hb(project, "demo", "init", "--products", "20000")
    task_id = int(hb(project, "profiles", "run", "demo-export").stdout.split()[-1])
    daemon = start_daemon(project)
    wait_for(lambda: show(project, task_id)["progress"]["processed"] > 0, "a first batch")
    daemon.send_signal(signal.SIGTERM)
    daemon.communicate(timeout=DEADLINE)
    assert daemon.returncode == 0
    assert make_store(db_url).get(task_id).owner is None


def test_shop_outage_mid_task_is_retried_without_loss(tmp_path, mariadb_url, clock):
    """The shop's MariaDB goes away (a proxy cuts every connection) and comes back."""
    create_demo_shop(mariadb_url, products=60)
    port = sa.engine.make_url(mariadb_url).port or 3306
    proxy = Proxy(port)
    try:
        via_proxy = sa.engine.make_url(mariadb_url).set(port=proxy.port).render_as_string(hide_password=False)
        beat = make_heartbeat(make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", via_proxy,
                                          batch_size=20), clock)
        task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
        beat.tick(clock.advance(1))
        proxy.down()
        beat.tick(clock.advance(60))  # fails: the shop is gone; the task keeps its place
        t = beat.store.get(task.id)
        assert (t.status, t.progress.processed) == ("running", 20)
        assert t.lease_until is None  # abandoned, not crashed: nobody may count it as a death
        proxy.restore()
        beat.tick(clock.advance(30))  # within the back-off: not tried yet
        assert beat.store.get(task.id).progress.processed == 20
        beat.tick(clock.advance(60))
        beat.run_until_idle()
    finally:
        proxy.close()
    done = beat.store.get(task.id)
    assert done.status == "completed" and done.progress.processed == 60
    assert_counters_match_items(beat.store, task.id)
    log = [line.message for line in beat.store.log(task.id)]
    assert any("the batch will be retried" in m for m in log)
    assert "connection back after 1 failed attempt" in log


@pytest.mark.parametrize("cut_after", [300, 2_000, 6_000, 15_000])
def test_state_database_outage_mid_batch_loses_and_doubles_nothing(tmp_path, mariadb_url, clock, cut_after):
    """The state database's connection drops in the middle of a batch's statements; the daemon
    carries on after it and the export holds every product exactly once."""
    port = sa.engine.make_url(mariadb_url).port or 3306
    proxy = Proxy(port)
    shop_url = f"sqlite:///{tmp_path / 'demo-shop.db'}"
    create_demo_shop(shop_url, products=100)
    try:
        state = sa.engine.make_url(mariadb_url).set(port=proxy.port).render_as_string(hide_password=False)
        beat = make_heartbeat(make_config(tmp_path, state, shop_url, batch_size=10), clock)
        task = beat.store.create(beat.config.profile("export-products"), "manual", clock.now(), clock.now())
        beat.tick(clock.advance(1))
        proxy.down_after(cut_after)
        outages = 0
        for _ in range(40):
            beat.safe_tick()  # an outage is logged, and the heartbeat goes on
            try:
                status = beat.store.get(task.id).status if proxy.up else None
            except StateDatabaseError:  # the cut fell on this test's own read
                status = None
            if not proxy.up:
                outages += 1
                proxy.restore()  # the database is back for the next tick
            elif status == "completed":
                break
        done = beat.store.get(task.id)
        counts = beat.store.item_counts(task.id)
    finally:
        proxy.close()
    assert outages >= 1
    assert done.status == "completed" and counts == {"processed": 100}
    ids = [p["id_product"] for p in json.loads(open(done.export_path).read())["products"]]
    assert ids == list(range(1, 101))


@pytest.mark.slow
def test_three_daemons_on_mariadb_share_30_tasks_each_item_once(tmp_path, mariadb_url):
    project = make_project(tmp_path, mariadb_url, interval=0.2)
    config = project / "heartbeat.toml"
    text = config.read_text()
    head, _, _ = text.partition("[[profiles]]")
    profiles = "".join(f'\n[[profiles]]\nname = "export-{i}"\nkind = "export"\nsource = "demo_shop"\n'
                       f'target = "exports"\nbatch_size = 500\n' for i in range(30))
    config.write_text(head + profiles)
    hb(project, "demo", "init", "--products", "2000")
    ids = [int(hb(project, "profiles", "run", f"export-{i}").stdout.split()[-1]) for i in range(30)]
    daemons = [start_daemon(project) for _ in range(3)]
    try:
        wait_for(lambda: all(t["status"] == "completed" for t in
                             json.loads(hb(project, "tasks", "list", "--json").stdout)), "30 completed tasks")
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        logs = [d.communicate(timeout=DEADLINE)[1] for d in daemons]
    assert [d.returncode for d in daemons] == [0, 0, 0]
    committed = [json.loads(line) for err in logs for line in err.splitlines()
                 if line.startswith("{") and '"batch.committed"' in line]
    batches = [(e["task_id"], e["batch"]) for e in committed]
    assert sorted(batches) == sorted((t, b) for t in ids for b in range(1, 5))  # each batch once
    assert len({e["owner"] for e in committed}) == 3  # the work was shared
    for task_id in ids:
        task = show(project, task_id)
        assert task["progress"]["processed"] == 2000
        assert_counters_match_items(make_store(mariadb_url), task_id)
        out = project / f"x{task_id}.json"
        hb(project, "tasks", "export-file", str(task_id), "-o", str(out))
        products = [p["id_product"] for p in json.loads(out.read_text())["products"]]
        assert products == list(range(1, 2001))


def write_supplier_feed(path, n: int, rng: random.Random) -> None:
    """n rows in PrestaShop's product import layout, for the demo shop's products 1..n."""
    lines = ["Reference #;Price tax excluded;Quantity"]
    lines += [f"DEMO-{i:06d};{rng.randint(100, 99999) / 100:.2f};{rng.randint(0, 500)}"
              for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n")


def import_project(root, state_url, feed):
    project = make_project(root, state_url, interval=0.2)
    config = project / "heartbeat.toml"
    sample = f'path = "{ROOT}/connectors/feeds/samples/supplier-products.csv"'
    text = config.read_text().replace(sample, f'path = "{feed}"')
    config.write_text(text.replace("batch_size = 10", "batch_size = 200"))
    hb(project, "demo", "init", "--products", "5000")
    return project


@pytest.mark.slow
def test_sigkill_during_an_import_leaves_the_shop_as_a_clean_run_does(tmp_path, db_url):
    rng = random.Random(4242)
    feed = tmp_path / "feed.csv"
    write_supplier_feed(feed, 5000, rng)
    clean = import_project(tmp_path / "clean", f"sqlite:///{tmp_path / 'clean' / 'state.db'}", feed)
    crash = import_project(tmp_path / "crash", db_url, feed)
    clean_id = int(hb(clean, "profiles", "run", "demo-import").stdout.split()[-1])
    hb(clean, "tick", "--until-idle")
    task_id = int(hb(crash, "profiles", "run", "demo-import").stdout.split()[-1])
    landed = kill_mid_batches(crash, db_url, task_id, 12, rng)
    hb(crash, "tick", "--until-idle")
    reports = [hb(p, "tasks", "report", str(t)).stdout for p, t in ((clean, clean_id), (crash, task_id))]
    assert reports[0] == reports[1]  # every row: the same outcome, the same changes, once
    shops = [shop_rows(f"sqlite:///{p / 'data' / 'demo-shop.db'}") for p in (clean, crash)]
    assert shops[0] == shops[1]
    task = show(crash, task_id)
    assert task["status"] == "completed" and task["progress"]["processed"] > 3500
    assert landed >= 1
    assert hb(crash, "tasks", "log", str(task_id)).stdout.count("process restarted") == landed


def test_a_batch_failing_unexpectedly_ends_the_task_after_five_tries(tmp_path, db_url, shop_url, clock):

    create_demo_shop(shop_url, products=10)
    rows = [["Reference #", "Quantity"]] + [[f"DEMO-{i:06d}", "5"] for i in range(1, 11)]
    feed = write_csv(tmp_path / "feed.csv", rows)
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)}), clock)
    task = beat.store.create(beat.config.profiles[0], "manual", clock.now(), clock.now())
    beat.tick(clock.advance(1))  # started; its first batch of 4 is done
    execute(db_url, f"UPDATE hb_tasks SET plan_position = 5, plan = '{{not json' WHERE id = {task.id}")
    # the next batch's saved plan, damaged by hand
    for _ in range(4):
        beat.tick(clock.advance(60))
        assert beat.store.get(task.id).status == "running"
    beat.tick(clock.advance(60))
    failed = beat.store.get(task.id)
    assert failed.status == "error" and failed.message.startswith("failed 5 times in a row: JSONDecodeError")
    assert failed.progress.processed == 4
