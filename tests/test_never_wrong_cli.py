"""Issue 23, front doors: every numeric input range-checked where it is parsed (one line, exit 1
for an id no task can have, 2 for any other out-of-range value; 404 / 400 over HTTP), --json on the
action commands, one queued manual run at a time, an impossible cron refused, the Host checked,
unknown routes answered as documented, and no mapping column created by a typo."""

from __future__ import annotations

import gc
import json
import random
import re
import sys

import pytest
import structlog
from starlette.testclient import TestClient

from connectors.prestashop import create_demo_shop
from heartbeat.cli.main import main
from tests.helpers import write_config_file
from tests.web import TOKEN, make_app, make_tasks

SEED = 23
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HUGE = ["99999999999999999999", "99999999999999999999999", str(2 ** 31), str(2 ** 63), "0"]


@pytest.fixture
def hb(tmp_path, db_url, shop_url, capsys):
    """`heartbeat --config <config> ARGS` run by the console script's own main(): (exit code,
    stdout, stderr)."""
    create_demo_shop(shop_url, products=25)
    config = write_config_file(tmp_path, db_url, shop_url)

    def invoke(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            _main(["--config", str(config), *map(str, args)])
        out = capsys.readouterr()
        return stop.value.code, out.out, out.err

    invoke.config = config
    return invoke


def _main(argv):
    """main() in this process; what a command sets globally (sys.argv, the log configuration: `tasks
    deliver` points structlog at this test's captured stderr) is put back afterwards."""
    saved, logging = sys.argv, structlog.get_config()
    sys.argv = ["heartbeat", *argv]
    try:
        main()
    finally:
        sys.argv = saved
        structlog.configure(**logging)
        gc.collect()  # the command's engines: their pooled connections close now, not at the end


def one_line(code, out, err, wanted_code):
    assert code == wanted_code, (code, out, err)
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err


def out_of_range(rng: random.Random) -> list[str]:
    """Numbers no task, product or option can take: huge ones, zero, and a few random giants."""
    return HUGE + [str(rng.randint(2 ** 31, 10 ** 30))]


ID_VERBS = ("show", "kill", "delete", "log", "report", "export-file", "result", "undo", "deliver", "watch")
ID_COMMANDS = [("tasks", verb) for verb in ID_VERBS]
OPTION_COMMANDS = [("tasks", "list", "--limit"), ("tasks", "list", "--before"),
                   ("tasks", "watch", "1", "--every"), ("demo", "init", "--products"),
                   ("notify", "list", "--task"), ("notify", "list", "--limit"),
                   ("categories", "set", "{}", "google", "1"), ("categories", "unset", "{}", "google")]


def test_out_of_range_numbers_get_one_line_and_the_right_exit_code_from_every_command(hb):
    rng = random.Random(SEED)
    for number in out_of_range(rng):
        for command in ID_COMMANDS:
            code, out, err = hb(*command, number)
            one_line(code, out, err, 1)
            assert err == f"heartbeat: task {int(number)} not found\n", (command, err)
        for command in OPTION_COMMANDS:
            args = [a.format(number) for a in command] + ([] if "{}" in command else [number])
            code, out, err = hb(*args)
            one_line(code, out, err, 2)
        for age in (f"{number}d", f"{number}w", f"{number}m"):
            code, out, err = hb("tasks", "prune", "--older-than", age)
            if int(number) * 60 <= 36_500 * 86400:  # "0m", or a small enough number of minutes
                continue
            one_line(code, out, err, 2)
            assert "more than 36500 days" in err


def test_an_integer_setting_out_of_range_is_refused_by_profiles_check(hb):
    text = hb.config.read_text()
    hb.config.write_text(text.replace("batch_size = 10", "batch_size = 99999999999999999999"))
    code, out, err = hb("profiles", "check")
    one_line(code, out, err, 2)
    assert "batch_size" in err and "out of range" in err
    hb.config.write_text(text.replace("batch_size = 10", "batch_size = 1000000"))
    code, out, err = hb("profiles", "check")
    one_line(code, out, err, 2)
    assert err.endswith("batch_size: must be from 1 to 100000, got 1000000\n")


def test_a_cron_that_never_fires_is_refused_by_profiles_check(hb):
    hb.config.write_text(hb.config.read_text() + 'schedule = "0 0 30 2 *"\n')
    code, out, err = hb("profiles", "check")
    one_line(code, out, err, 2)
    assert err.endswith("schedule: cron expression '0 0 30 2 *' never fires (no such date)\n")
    hb.config.write_text(hb.config.read_text().replace("0 0 30 2 *", "0 0 29 2 *"))  # leap years only
    assert hb("profiles", "check")[0] == 0


def test_profiles_check_refuses_an_id_shop_or_language_a_reachable_shop_lacks(hb):
    text = hb.config.read_text()
    assert hb("profiles", "check")[0] == 0
    hb.config.write_text(text.replace('type = "prestashop"', 'type = "prestashop"\nid_shop = 3'))
    code, out, err = hb("profiles", "check")
    one_line(code, out, err, 2)
    assert err.endswith("connections.shop.id_shop: id_shop = 3: the shop has no such shop (its shops: 1)\n")
    hb.config.write_text(text.replace('type = "prestashop"', 'type = "prestashop"\nid_lang = 9'))
    code, out, err = hb("profiles", "check")
    one_line(code, out, err, 2)
    assert "connections.shop.id_lang: id_lang = 9: shop 1 has no such active language (its languages: 1 (" \
        in err
    shop_url = re.search(r'\[connections.shop\]\ntype = "prestashop"\nurl = "([^"]+)"', text)[1]
    hb.config.write_text(text.replace(shop_url, "sqlite:////nonexistent/shop.db"))
    code, out, err = hb("profiles", "check")  # a shop that does not answer: a note, exit 0
    assert code == 0 and out.endswith("OK (1 connection, 1 profile)\n")
    assert err.startswith("heartbeat: note: not checked: connection shop: shop database /nonexistent/shop.db")


def test_action_commands_print_the_task_object_with_json(hb):
    code, out, _ = hb("profiles", "run", "export-products", "--json")
    queued = json.loads(out)
    assert code == 0 and queued["status"] == "pending" and queued["trigger"] == "manual"
    code, out, _ = hb("tasks", "kill", queued["id"], "--json")
    assert json.loads(out)["status"] == "killed" and json.loads(out)["id"] == queued["id"]
    code, out, _ = hb("tasks", "delete", queued["id"], "--json")
    assert json.loads(out) == {"deleted": queued["id"], "problems": []}
    code, out, _ = hb("maintenance", "run", "shop", "analyze-integrity", "--json")
    assert json.loads(out)["kind"] == "maintenance"
    code, out, _ = hb("tasks", "prune", "--older-than", "1m", "--json")
    assert json.loads(out) == {"deleted": []}
    code, out, err = hb("tasks", "kill", 4242, "--json")  # a refusal: one line on stderr, nothing on stdout
    assert (code, out) == (1, "") and err == "heartbeat: task 4242 not found\n"


def test_the_same_manual_run_twice_while_pending_is_refused_naming_the_pending_task(hb):
    code, out, _ = hb("profiles", "run", "export-products", "--full")
    first = int(out.split()[-1])
    code, out, err = hb("profiles", "run", "export-products", "--full")
    one_line(code, out, err, 1)
    assert f"already pending as task {first}" in err and out == ""
    code, out, _ = hb("profiles", "run", "export-products")  # other options: another run
    assert code == 0 and int(out.split()[-1]) == first + 1


def test_categories_set_refuses_an_unknown_column_and_columns_add_creates_one(hb):
    code, out, err = hb("categories", "set", 1, "nocolumn", 536)
    one_line(code, out, err, 1)
    assert "no column 'nocolumn' (known: none yet)" in err and "categories columns add nocolumn" in err
    assert hb("categories", "columns", "--json")[1].strip() == "[]"
    assert hb("categories", "columns", "add", "google")[:2] == (0, "column google added\n")
    code, out, err = hb("categories", "columns", "add", "google")
    one_line(code, out, err, 1)
    assert hb("categories", "set", 1, "google", 536)[:2] == (0, "product 1: google category 536\n")


# -- over HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def tasks(tmp_path, db_url, clock):
    return make_tasks(tmp_path, db_url, clock)


def test_out_of_range_numbers_over_http_are_404_for_ids_and_400_otherwise(tasks, clock):
    rng = random.Random(SEED)
    with TestClient(make_app(tasks, clock), follow_redirects=False, raise_server_exceptions=False) as client:
        for number in out_of_range(rng):
            for method, path in [("GET", "/api/tasks/{}"), ("DELETE", "/api/tasks/{}"),
                                 ("POST", "/api/tasks/{}/kill"), ("GET", "/api/tasks/{}/log"),
                                 ("GET", "/api/tasks/{}/report"), ("GET", "/api/tasks/{}/export-file")]:
                answer = client.request(method, path.format(number), headers=BEARER)
                assert answer.status_code == 404, (method, path, number, answer.text)
                assert answer.json() == {"error": f"task {int(number)} not found"}
            for query in ("limit", "before"):
                answer = client.get(f"/api/tasks?{query}={number}", headers=BEARER)
                assert answer.status_code == 400 and query in answer.json()["error"], answer.text


def test_unknown_routes_answer_json_under_api_and_the_error_page_elsewhere(tasks, clock):
    with TestClient(make_app(tasks, clock, password_hash=None), follow_redirects=False) as client:
        api = client.get("/api/nothing-here", headers=BEARER)
        assert api.status_code == 404 and api.json() == {"error": "no such page: /api/nothing-here"}
        page = client.get("/nothing-here")
        assert page.status_code == 404 and "text/html" in page.headers["content-type"]
        assert "no such page: /nothing-here" in page.text and "Back to the Task Manager" in page.text
        method = client.put("/api/tasks", headers=BEARER)
        assert method.status_code == 405 and method.json() == {"error": "PUT is not allowed on /api/tasks"}


def test_a_request_for_another_host_name_is_refused_before_anything_else(tasks, clock):
    from heartbeat.web.app import create_app
    from heartbeat.web.guard import allowed_hosts, host_allowed
    app = create_app(tasks, password_hash=None, api_token=None, secret_key=b"k" * 32, clock=clock,
                     hosts=allowed_hosts("127.0.0.1", ["heartbeat.example"]))
    with TestClient(app, base_url="http://127.0.0.1:8080", follow_redirects=False) as client:
        assert client.get("/api/tasks").status_code == 200
        for host in ("localhost:8080", "heartbeat.example", "HEARTBEAT.example:443"):
            assert client.get("/api/tasks", headers={"host": host}).status_code == 200, host
        for host in ("rebind.example", "rebind.example:8080", "127.0.0.1.rebind.example", ""):
            refused = client.get("/api/tasks", headers={"host": host})
            assert refused.status_code == 421, host
            assert "allowed_hosts" in refused.json()["error"]
        assert client.get("/api/tasks", headers={"host": "10.1.2.3"}).status_code == 421  # not the listen IP
    every = allowed_hosts("0.0.0.0", [])  # listening on every address: any IP is this server, no name is
    assert [host_allowed(h, every) for h in ("127.0.0.1", "10.1.2.3", "::1", "localhost", "rebind.example")] \
        == [True, True, True, True, False]
    with TestClient(app, base_url="http://127.0.0.1:8080", follow_redirects=False) as client:
        queued = client.post("/api/profiles/catalogue/run", headers={"host": "rebind.example",
                                                                       "origin": "http://rebind.example"})
        assert queued.status_code == 421 and tasks.list() == []
