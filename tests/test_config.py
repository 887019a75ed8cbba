"""heartbeat.config.loader: a valid file loads with its defaults and resolved paths; every mistake is one line
naming the file, the dotted key and the reason; no password ever shows in a message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import Config
from core.errors import ConfigError, ProfileNotFound
from heartbeat.config.loader import find_config_path, load, redact_url

FULL = """
[heartbeat]
interval = 2.5
data_dir = "var"
log_format = "json"
log_level = "debug"
keep_history = 30

[database]
url = "mysql+pymysql://heartbeat:${HB_TEST_PASS}@127.0.0.1:3306/heartbeat?charset=utf8mb4"

[connections.demo_shop]
type = "prestashop"
url = "sqlite:///data/demo-shop.db"

[connections.live_shop]
type = "prestashop"
url = "sqlite:////srv/shop.db"
prefix = "shop_"
id_shop = 2
id_lang = 3

[connections.exports]
type = "directory"
path = "${HB_TEST_DIR}/exports"

[connections.literal]
type = "directory"
path = "/tmp/$${NOT_A_VAR}"

[[profiles]]
name = "demo-export"
kind = "export"
source = "demo_shop"

[[profiles]]
name = "live.export_2"
kind = "export"
source = "live_shop"
target = "exports"
schedule = "*/15 8-18 * * mon-fri"
timezone = "Europe/Madrid"
batch_size = 500
misfire_grace = 300
enabled = false
entity = "products"
full = true
allow_empty = true
"""

# A valid base the mistakes below are appended to or substituted into.
BASE = """
[connections.shop]
type = "prestashop"
url = "sqlite:///shop.db"

[connections.out]
type = "directory"
path = "out"
"""
PROFILE = """
[[profiles]]
name = "p"
kind = "export"
source = "shop"
"""

IMPORT = BASE + """
[connections.feed]
type = "csv"
path = "feed.csv"

[[profiles]]
name = "i"
kind = "import"
source = "feed"
target = "shop"
"""
IMP = "profiles[0] (i)"


def write(tmp_path: Path, text: str, name: str = "heartbeat.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(path, env=env or {})
    err = info.value
    assert "\n" not in str(err) and "\r" not in str(err)
    assert str(err).startswith(f"{path}: ")
    assert err.exit_code == 2
    return err


# --- a valid file -----------------------------------------------------------------------------------


def test_full_config(tmp_path):
    path = write(tmp_path, FULL)
    cfg = load(path, env={"HB_TEST_PASS": "s3cret", "HB_TEST_DIR": "elsewhere"})
    assert isinstance(cfg, Config)
    assert cfg.path == path
    assert (cfg.interval, cfg.log_format, cfg.log_level, cfg.keep_history) == (2.5, "json", "debug", 30)
    assert cfg.data_dir == tmp_path / "var"
    assert cfg.database_url == "mysql+pymysql://heartbeat:s3cret@127.0.0.1:3306/heartbeat?charset=utf8mb4"

    demo, live = cfg.connections["demo_shop"], cfg.connections["live_shop"]
    assert demo.type == "prestashop"
    assert demo.options == {
        "url": f"sqlite:///{tmp_path}/data/demo-shop.db",
        "prefix": "ps_",
        "id_shop": 1,
        "id_lang": 1,
        "base_url": None,
        "image_type": "large_default",
    }
    assert live.options == {"url": "sqlite:////srv/shop.db", "prefix": "shop_", "id_shop": 2, "id_lang": 3,
                            "base_url": None, "image_type": "large_default"}
    assert cfg.connections["exports"].options == {"path": tmp_path / "elsewhere" / "exports"}
    assert cfg.connections["literal"].options == {"path": Path("/tmp/${NOT_A_VAR}")}

    demo_p, live_p = cfg.profiles
    assert demo_p.name == "demo-export" and demo_p.kind == "export" and demo_p.source == "demo_shop"
    assert (demo_p.target, demo_p.schedule, demo_p.timezone) == (None, None, "UTC")
    assert (demo_p.batch_size, demo_p.misfire_grace, demo_p.enabled) == (100, None, True)
    assert demo_p.options == {"entity": "products", "full": False, "allow_empty": False,
                              "category_column": None, "category_required": False,
                              "min_products_ratio": 0.5, "max_deleted_ratio": 0.25}
    assert live_p.target == "exports" and live_p.schedule == "*/15 8-18 * * mon-fri"
    assert (live_p.timezone, live_p.batch_size, live_p.misfire_grace, live_p.enabled) == (
        "Europe/Madrid",
        500,
        300,
        False,
    )
    assert live_p.options == {"entity": "products", "full": True, "allow_empty": True,
                              "category_column": None, "category_required": False,
                              "min_products_ratio": 0.5, "max_deleted_ratio": 0.25}
    assert cfg.profile("live.export_2") is live_p
    with pytest.raises(ProfileNotFound):
        cfg.profile("nope")


def test_empty_file_gives_all_defaults(tmp_path):
    cfg = load(write(tmp_path, ""), env={})
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.database_url == f"sqlite:///{tmp_path}/data/state.db"
    assert (cfg.interval, cfg.log_format, cfg.log_level, cfg.keep_history) == (60.0, "auto", "info", None)
    assert cfg.connections == {} and cfg.profiles == ()


def test_relative_paths_resolve_against_the_config_dir_not_the_cwd(tmp_path, monkeypatch):
    conf_dir = tmp_path / "etc" / "heartbeat"
    conf_dir.mkdir(parents=True)
    path = write(
        conf_dir, '[heartbeat]\ndata_dir = "../../var/hb"\n[database]\nurl = "sqlite:///st.db?timeout=5"\n'
    )
    monkeypatch.chdir(tmp_path)
    cfg = load(Path("etc/heartbeat/heartbeat.toml"), env={})
    assert cfg.path == path
    assert cfg.data_dir == tmp_path / "var" / "hb"
    assert cfg.database_url == f"sqlite:///{conf_dir}/st.db?timeout=5"


def test_environment_is_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HB_TEST_DATA", "from-env")
    cfg = load(write(tmp_path, '[heartbeat]\ndata_dir = "${HB_TEST_DATA}/x"\n'))
    assert cfg.data_dir == tmp_path / "from-env" / "x"


def test_numeric_interval_accepts_integers(tmp_path):
    assert load(write(tmp_path, "[heartbeat]\ninterval = 5\n"), env={}).interval == 5.0


# --- mistakes ---------------------------------------------------------------------------------------

P = "profiles[0] (p)"
MISTAKES = [
    # (id, file text, key, reason substring)
    ("toml-syntax", "[heartbeat\ninterval = 1\n", None, "invalid TOML at line 1, column 11: Expected ']'"),
    ("toml-duplicate", "[heartbeat]\ninterval = 1\ninterval = 2\n", None, "invalid TOML at line 3"),
    ("unknown-table", "[heartbeats]\n", "heartbeats", "unknown top-level table (did you mean 'heartbeat'?)"),
    ("top-level-key", "interval = 5\n", "interval", "unknown top-level table (a [heartbeat] key?); allowed:"),
    ("section-not-table", "heartbeat = 5\n", "heartbeat", "expected a table, got integer 5"),
    (
        "profiles-not-array",
        "[profiles]\nname = 'x'\n",
        "profiles",
        "expected [[profiles]] tables, got a table",
    ),
    (
        "unknown-key",
        "[heartbeat]\nintervall = 5\n",
        "heartbeat.intervall",
        "unknown key (did you mean 'interval'?); allowed: interval, data_dir, log_format, log_level, "
        "keep_history",
    ),
    ("unknown-db-key", "[database]\npath = 'x'\n", "database.path", "unknown key; allowed: url"),
    (
        "unknown-connection-key",
        BASE + "passwd = 'x'\n",
        "connections.out.passwd",
        "unknown key; allowed: type, path",
    ),
    (
        "unknown-profile-key",
        BASE + PROFILE + "batchsize = 10\n",
        f"{P}.batchsize",
        "unknown key (did you mean 'batch_size'?); allowed: name, kind, source, target, schedule, timezone, "
        "batch_size, misfire_grace, enabled, entity, full, allow_empty",
    ),
    (
        "int-as-string",
        BASE + PROFILE + "batch_size = '10'\n",
        f"{P}.batch_size",
        "expected an integer, got string '10'",
    ),
    (
        "bool-is-not-int",
        BASE + PROFILE + "batch_size = true\n",
        f"{P}.batch_size",
        "expected an integer, got boolean true",
    ),
    (
        "float-is-not-int",
        BASE + PROFILE + "misfire_grace = 1.5\n",
        f"{P}.misfire_grace",
        "expected an integer, got float 1.5",
    ),
    (
        "number-as-string",
        "[heartbeat]\ninterval = '60'\n",
        "heartbeat.interval",
        "expected a number, got string '60'",
    ),
    (
        "bool-as-number",
        "[heartbeat]\ninterval = true\n",
        "heartbeat.interval",
        "expected a number, got boolean true",
    ),
    (
        "int-as-bool",
        BASE + PROFILE + "enabled = 1\n",
        f"{P}.enabled",
        "expected a boolean (true or false), got integer 1",
    ),
    (
        "str-as-int",
        BASE + PROFILE + "full = 'yes'\n",
        f"{P}.full",
        "expected a boolean (true or false), got string 'yes'",
    ),
    (
        "array-value",
        BASE + PROFILE + "schedule = ['* * * * *']\n",
        f"{P}.schedule",
        "expected a string, got an array",
    ),
    (
        "missing-source",
        BASE + "[[profiles]]\nname = 'p'\nkind = 'export'\n",
        f"{P}.source",
        "required key is missing",
    ),
    ("missing-name", BASE + "[[profiles]]\nkind = 'export'\n", "profiles[0].name", "required key is missing"),
    ("missing-kind", BASE + "[[profiles]]\nname = 'p'\n", f"{P}.kind", "required key is missing"),
    ("missing-type", "[connections.x]\npath = 'x'\n", "connections.x.type", "required key is missing"),
    (
        "missing-path",
        "[connections.x]\ntype = 'directory'\n",
        "connections.x.path",
        "required key is missing",
    ),
    ("missing-url", "[connections.x]\ntype = 'prestashop'\n", "connections.x.url", "required key is missing"),
    (
        "unknown-source",
        BASE + PROFILE.replace("'shop'", "'nope'").replace('"shop"', '"nope"'),
        f"{P}.source",
        "unknown connection 'nope'; connections: shop, out",
    ),
    (
        "unknown-target",
        BASE + PROFILE + "target = 'nope'\n",
        f"{P}.target",
        "unknown connection 'nope'; connections: shop, out",
    ),
    (
        "source-wrong-type",
        BASE + PROFILE.replace('"shop"', '"out"'),
        f"{P}.source",
        "connection 'out' is of type 'directory'; export profiles need a source of type prestashop",
    ),
    (
        "target-wrong-type",
        BASE + PROFILE + "target = 'shop'\n",
        f"{P}.target",
        "connection 'shop' is of type 'prestashop'; export profiles need a target of type directory",
    ),
    ("duplicate-name", BASE + PROFILE + PROFILE, "profiles[1] (p).name", "duplicate name; see profiles[0]"),
    (
        "cron-range",
        BASE + PROFILE + "schedule = '61 * * * *'\n",
        f"{P}.schedule",
        "invalid cron expression '61 * * * *': Error validating expression '61': the last value (61)",
    ),
    (
        "cron-fields",
        BASE + PROFILE + "schedule = '* * * *'\n",
        f"{P}.schedule",
        "invalid cron expression '* * * *': Wrong number of fields; got 4, expected 5",
    ),
    (
        "cron-word",
        BASE + PROFILE + "schedule = 'x * * * *'\n",
        f"{P}.schedule",
        'Unrecognized expression "x"',
    ),
    (
        "cron-numeric-weekday",
        BASE + PROFILE + "schedule = '0 9 * * 1-5'\n",
        f"{P}.schedule",
        "day of week '1-5' must be * or names like mon-fri or sat,sun",
    ),
    ("cron-empty", BASE + PROFILE + "schedule = ''\n", f"{P}.schedule", "Wrong number of fields; got 0"),
    (
        "bad-timezone",
        BASE + PROFILE + "timezone = 'Mars/Olympus'\n",
        f"{P}.timezone",
        "unknown time zone 'Mars/Olympus'",
    ),
    ("batch-size-zero", BASE + PROFILE + "batch_size = 0\n", f"{P}.batch_size",
     "must be from 1 to 100000, got 0"),
    (
        "batch-size-negative",
        BASE + PROFILE + "batch_size = -5\n",
        f"{P}.batch_size",
        "must be from 1 to 100000, got -5",
    ),
    (
        "batch-size-20-digits",
        BASE + PROFILE + "batch_size = 99999999999999999999\n",
        f"{P}.batch_size",
        "99999999999999999999 is out of range (at most 2147483647)",
    ),
    ("cron-never-fires", BASE + PROFILE + 'schedule = "0 0 30 2 *"\n', f"{P}.schedule",
     "cron expression '0 0 30 2 *' never fires (no such date)"),
    (
        "misfire-zero",
        BASE + PROFILE + "misfire_grace = 0\n",
        f"{P}.misfire_grace",
        "must be at least 1, got 0",
    ),
    ("interval-zero", "[heartbeat]\ninterval = 0\n", "heartbeat.interval", "greater than 0, got 0.0"),
    ("interval-negative", "[heartbeat]\ninterval = -1.5\n", "heartbeat.interval", "greater than 0, got -1.5"),
    ("interval-inf", "[heartbeat]\ninterval = inf\n", "heartbeat.interval", "must be a finite number"),
    (
        "keep-history-zero",
        "[heartbeat]\nkeep_history = 0\n",
        "heartbeat.keep_history",
        "must be from 1 to 36500 days, got 0",
    ),
    (
        "log-format",
        "[heartbeat]\nlog_format = 'xml'\n",
        "heartbeat.log_format",
        "expected one of auto, json, console, got 'xml'",
    ),
    (
        "log-level",
        "[heartbeat]\nlog_level = 'INFO'\n",
        "heartbeat.log_level",
        "expected one of debug, info, warning, error",
    ),
    ("empty-data-dir", "[heartbeat]\ndata_dir = ' '\n", "heartbeat.data_dir", "must not be empty"),
    (
        "unknown-kind",
        BASE + PROFILE.replace('"export"', '"sync"'),
        f"{P}.kind",
        "unknown kind 'sync'; known: export",
    ),
    (
        "unknown-entity",
        BASE + PROFILE + "entity = 'customers'\n",
        f"{P}.entity",
        "expected one of products, orders, got 'customers'",
    ),
    ("import-option-on-export", BASE + PROFILE + "feed = 'x'\n", f"{P}.feed", "unknown key; allowed:"),
    (
        "unknown-connection-type",
        "[connections.x]\ntype = 'ftp'\n",
        "connections.x.type",
        "unknown connection type 'ftp'; known: prestashop, directory",
    ),
    (
        "connection-not-table",
        "[connections]\nx = 'sqlite:///a.db'\n",
        "connections.x",
        "expected a table, got string",
    ),
    ("profile-not-table", "profiles = [1]\n", "profiles[0]", "expected a table, got integer 1"),
    (
        "bad-url",
        "[database]\nurl = 'not a url'\n",
        "database.url",
        "invalid database URL not a url: Could not parse SQLAlchemy URL",
    ),
    (
        "bad-port",
        "[database]\nurl = 'mysql+pymysql://u@h:port/db'\n",
        "database.url",
        "invalid database URL mysql+pymysql://u@h:port/db: bad port",
    ),
    (
        "unknown-dialect",
        "[database]\nurl = 'nosuchdb://h/db'\n",
        "database.url",
        "unsupported database nosuchdb://h/db",
    ),
    (
        "unsupported-dialect",
        "[database]\nurl = 'postgresql://h/db'\n",
        "database.url",
        "unsupported database",
    ),
    ("url-not-string", "[database]\nurl = 5\n", "database.url", "expected a string, got integer"),
    (
        "sqlite-memory",
        "[database]\nurl = 'sqlite://'\n",
        "database.url",
        "in-memory SQLite (sqlite://) would lose",
    ),
    ("sqlite-memory-named", "[database]\nurl = 'sqlite:///:memory:'\n", "database.url", "in-memory SQLite"),
    (
        "shop-memory",
        "[connections.x]\ntype = 'prestashop'\nurl = 'sqlite://'\n",
        "connections.x.url",
        "in-memory",
    ),
    (
        "bad-prefix",
        "[connections.x]\ntype = 'prestashop'\nurl = 'sqlite:///a.db'\nprefix = 'ps; DROP'\n",
        "connections.x.prefix",
        "must be letters, digits and '_'; got 'ps; DROP'",
    ),
    (
        "bad-id-shop",
        "[connections.x]\ntype = 'prestashop'\nurl = 'sqlite:///a.db'\nid_shop = 0\n",
        "connections.x.id_shop",
        "at least 1",
    ),
    (
        "bad-profile-name",
        BASE + PROFILE.replace('"p"', '"my profile"'),
        "profiles[0].name",
        "must match [A-Za-z0-9_.-]+, got 'my profile'",
    ),
    (
        "empty-profile-name",
        BASE + PROFILE.replace('"p"', '""'),
        "profiles[0].name",
        "must match [A-Za-z0-9_.-]+, got ''",
    ),
    (
        "bad-connection-name",
        '[connections."my shop"]\ntype = "directory"\npath = "x"\n',
        "connections",
        "invalid connection name: must match [A-Za-z0-9_.-]+, got 'my shop'",
    ),
    (
        "env-unset",
        "[database]\nurl = 'mysql+pymysql://u:${DB_PASS}@h/db'\n",
        "database.url",
        "environment variable DB_PASS is not set",
    ),
    ("env-malformed", "[heartbeat]\ndata_dir = '${DATA'\n", "heartbeat.data_dir", "malformed ${...}"),
    ("env-bad-name", "[heartbeat]\ndata_dir = '${1X}'\n", "heartbeat.data_dir", "malformed ${...}"),
    ("newline-in-key", '[heartbeat]\n"a\\nb" = 1\n', "heartbeat.a\\nb", "unknown key"),
    (
        "import-field-unknown",
        IMPORT + "fields = ['price', 'colour']\n",
        f"{IMP}.fields",
        "unknown field 'colour'; must list fields among: price, ",
    ),
    (
        "import-field-typo",
        IMPORT + "fields = ['prise']\n",
        f"{IMP}.fields",
        "unknown field 'prise' (did you mean 'price'?)",
    ),
    ("import-field-not-text", IMPORT + "fields = [1]\n", f"{IMP}.fields", "unknown field integer 1; must"),
    ("import-fields-empty", IMPORT + "fields = []\n", f"{IMP}.fields", "must list at least one field among"),
    ("web-listen-no-port", "[web]\nlisten = 'localhost'\n", "web.listen",
     "must be HOST:PORT (e.g. 127.0.0.1:8080), got 'localhost'"),
    ("web-listen-bad-port", "[web]\nlisten = '127.0.0.1:99999'\n", "web.listen", "must be HOST:PORT"),
    ("web-hash-not-argon2", "[web]\npassword_hash = 'secret'\n", "web.password_hash",
     "expected an argon2 hash as printed by `heartbeat web hash-password`"),
    ("web-unknown-key", "[web]\npassword = 'x'\n", "web.password",
     "unknown key (did you mean 'password_hash'?)"),
]


@pytest.mark.parametrize(("text", "key", "reason"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_mistake(tmp_path, text, key, reason):
    err = error_of(write(tmp_path, text))
    assert err.key == key
    assert reason in err.reason
    assert str(err) == f"{tmp_path / 'heartbeat.toml'}: {key + ': ' if key else ''}{err.reason}"


def test_missing_file(tmp_path):
    err = error_of(tmp_path / "nope.toml")
    assert (err.key, err.reason) == (None, "config file not found")


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    err = error_of(tmp_path / "dir.toml")
    assert err.reason == "cannot read config file: Is a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "")
    path.chmod(0)
    err = error_of(path)
    assert err.reason == "cannot read config file: Permission denied"


def test_path_through_a_file(tmp_path):
    write(tmp_path, "")
    err = error_of(tmp_path / "heartbeat.toml" / "x.toml")
    assert err.reason == "cannot read config file: Not a directory"


def test_not_utf8(tmp_path):
    path = tmp_path / "heartbeat.toml"
    path.write_bytes(b"[heartbeat]\ndata_dir = '\xff'\n")
    assert "not UTF-8 text" in error_of(path).reason


# --- passwords --------------------------------------------------------------------------------------

SECRET = "Hunter2-Secret"
LEAKY = [
    ("bad-port", "mysql+pymysql://hb:${PW}@db.example:33o6/heartbeat"),
    ("unsupported", "postgresql://hb:${PW}@db.example/heartbeat"),
    ("no-driver", "nosuch+driver://hb:${PW}@db.example/heartbeat"),
    ("garbage", "hb:${PW}@db.example/heartbeat"),
    ("memory", "sqlite://hb:${PW}@/"),
    ("query-password", "mysql+pymysql://hb@db.example:bad/heartbeat?password=${PW}"),
]


@pytest.mark.parametrize("password", [SECRET, "se@cr:et/pw", "p%40ss%3Aword"])
@pytest.mark.parametrize("url", [u for _, u in LEAKY], ids=[i for i, _ in LEAKY])
@pytest.mark.parametrize("where", ["database", "connection"])
def test_password_never_in_error(tmp_path, url, password, where):
    text = f"[database]\nurl = '{url}'\n"
    if where == "connection":
        text = f"[connections.shop]\ntype = 'prestashop'\nurl = '{url}'\n"
    err = error_of(write(tmp_path, text), env={"PW": password})
    fragments = {password, *password.replace("@", " ").replace(":", " ").replace("/", " ").split()}
    fragments |= {"cr:et", "et/pw", "40ss", "ss%3A"}
    for fragment in fragments - {"se", "pw"}:
        assert fragment not in str(err), (fragment, str(err))


def test_unescaped_at_in_password_is_refused_without_leaking(tmp_path):
    path = write(tmp_path, "[database]\nurl = 'mysql+pymysql://hb:${PW}@127.0.0.1/heartbeat'\n")
    err = error_of(path, env={"PW": "abc@defgh"})
    assert "percent-encode '@'" in err.reason
    assert "abc" not in str(err) and "defgh" not in str(err)


@pytest.mark.parametrize(
    "text",
    [
        f"[connections.x]\ntype = 'prestashop'\nurl = ['mysql://u:{SECRET}@h/db']\n",
        f"[connections.x]\ntype = 'prestashop'\npassword = '{SECRET}'\n",
        f"[connections.x]\ntype = 'directory'\npath = 'x'\nurl = 'mysql://u:{SECRET}@h/db'\n",
        f"[connections]\nx = 'mysql+pymysql://u:{SECRET}@h/db'\n",  # a URL where a table belongs
        f"[database]\nurl = 'mysql+pymysql://u:{SECRET}@h/db'\n[heartbeat]\ninterval = 0\n",
    ],
    ids=["url-wrong-type", "unknown-password-key", "unknown-url-key", "url-not-table", "other-error"],
)
def test_password_not_echoed(tmp_path, text):
    assert SECRET not in str(error_of(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "mysql+pymysql://hb:pw@127.0.0.1:3306/hb?charset=utf8mb4",
            "mysql+pymysql://hb:***@127.0.0.1:3306/hb?charset=utf8mb4",
        ),
        ("mysql+pymysql://hb:p@ss@h/db", "mysql+pymysql://hb:***@h/db"),
        ("mysql+pymysql://hb@h/db", "mysql+pymysql://hb@h/db"),
        ("mysql+pymysql://hb@h/db?password=pw&ssl=1", "mysql+pymysql://hb@h/db?password=***&ssl=1"),
        ("sqlite:////srv/a@b.db", "sqlite:////srv/a@b.db"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


# --- find_config_path -------------------------------------------------------------------------------


def test_find_config_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEARTBEAT_CONFIG", raising=False)
    with pytest.raises(ConfigError) as info:
        find_config_path(None)
    assert str(info.value) == "heartbeat.toml: config file not found (pass --config or set HEARTBEAT_CONFIG)"

    write(tmp_path, "")
    assert find_config_path(None) == Path("heartbeat.toml")
    other = write(tmp_path, "", "other.toml")
    monkeypatch.setenv("HEARTBEAT_CONFIG", str(other))
    assert find_config_path(None) == other
    assert find_config_path("heartbeat.toml") == Path("heartbeat.toml")

    monkeypatch.setenv("HEARTBEAT_CONFIG", "gone.toml")
    with pytest.raises(
        ConfigError, match=r"^gone.toml: config file not found \(named by \$HEARTBEAT_CONFIG\)$"
    ):
        find_config_path(None)
    with pytest.raises(ConfigError, match=r"^x.toml: config file not found$"):
        find_config_path("x.toml")


def test_web_table(tmp_path):
    config = load(write(tmp_path, "[web]\nlisten = '[::1]:8080'\npassword_hash = '$argon2id$v=19$x'\n"))
    assert (config.web.listen, config.web.password_hash) == ("[::1]:8080", "$argon2id$v=19$x")
    assert load(write(tmp_path, "")).web.listen is None
