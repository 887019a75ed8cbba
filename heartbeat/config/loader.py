"""The TOML configuration: loading, `${ENV}` interpolation, validation into frozen dataclasses.

Contract: `load(path) -> Config` or raises `ConfigError(path, key, reason)` whose message is one line
naming the file, the dotted key (e.g. `profiles[0] (demo-export).batch_size`) and the reason. No message
or log line ever contains a password: URLs are shown through `redact_url`. Format: docs/configuration.md.
"""

from __future__ import annotations

import codecs
import difflib
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from connectors.platform.delivery import target_url_problem
from connectors.prestashop.integrity.base import OPERATIONS as MAINTENANCE_OPERATIONS
from connectors.prestashop.integrity.base import PRODUCTS
from core.config import CategoryRule, Config, Connection, Notify, Profile, Web
from core.errors import ConfigError
from core.fields import FEED_FIELDS
from core.fields import UPDATABLE as IMPORT_FIELDS
from heartbeat.config.schedule import trigger as schedule_trigger
from tasks.states import TaskStatus

REQUIRED: Any = object()  # marks an Opt without a default
Check = Callable[[Any], "str | None"]  # why a well-typed value is refused, or None


@dataclass(frozen=True)
class Opt:
    """One key: TOML type (str, int, bool; float = any number), default (REQUIRED: must be given), an
    optional check, and `resolve` = "path" | "db_url" for values resolved against the config dir."""

    type: type
    default: Any = REQUIRED
    check: Check | None = None
    resolve: str | None = None


@dataclass(frozen=True)
class Kind:
    """A profile kind: the connection types its source and target may have, and its own options."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    options: dict[str, Opt]
    target_required: bool = False


def _check(ok: Callable[[Any], Any], why: str) -> Check:
    """A Check refusing the values for which `ok` is false; `why` may use {v}."""
    return lambda v: None if ok(v) else why.format(v=v)


def _one_of(*choices: str) -> Check:
    return _check(lambda v: v in choices, f"expected one of {', '.join(choices)}, got {{v!r}}")


AT_LEAST_1 = _check(lambda v: v >= 1, "must be at least 1, got {v}")
MAX_INT = 2 ** 31 - 1  # any integer setting: what the databases' INT columns hold
MAX_BATCH = 100_000  # items of one batch: one heartbeat's work, held in memory at once
BATCH = _check(lambda v: 1 <= v <= MAX_BATCH, f"must be from 1 to {MAX_BATCH}, got {{v}}")
DAYS = _check(lambda v: 1 <= v <= 36_500, "must be from 1 to 36500 days, got {v}")
POSITIVE = _check(lambda v: math.isfinite(v) and v > 0, "must be a finite number greater than 0, got {v}")
RATIO = _check(lambda v: math.isfinite(v) and 0 <= v <= 1, "must be a number from 0 to 1, got {v}")
NON_EMPTY = _check(lambda v: v.strip(), "must not be empty")
NAME = _check(lambda v: re.fullmatch(r"[A-Za-z0-9_.-]+", v), "must match [A-Za-z0-9_.-]+, got {v!r}")
PREFIX = _check(lambda v: re.fullmatch(r"[A-Za-z0-9_]*", v), "must be letters, digits and '_'; got {v!r}")
HTTP_URL = _check(lambda v: re.match(r"https?://[^/\s]+", v), "must be an http:// or https:// URL")
ENV_NAME = _check(lambda v: re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v),
                  "must be an environment variable's name (letters, digits, '_'), got {v!r}")
HEADER_NAME = _check(lambda v: re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", v),
                     "must be an HTTP header name such as Authorization, got {v!r}")
ONE_CHAR = _check(lambda v: len(v) == 1, "must be a single character, got {v!r}")
ENCODING = _check(lambda v: _known_encoding(v), "unknown encoding {v!r}")
MAPPING = _check(lambda v: all(isinstance(f, str) and f in FEED_FIELDS + ("",) for f in v.values()),
                 "maps headers to fields; each value must be one of: " + ", ".join(FEED_FIELDS))


def _update_fields(fields: list) -> str | None:
    """An import's `fields`: at least one, each an updatable field; names the first bad one."""
    among = "must list fields among: " + ", ".join(IMPORT_FIELDS)
    if not fields:
        return "must list at least one field among: " + ", ".join(IMPORT_FIELDS)
    for field in fields:
        if field not in IMPORT_FIELDS:
            if not isinstance(field, str):
                return f"unknown field {_describe(field, '')}; {among}"
            return f"unknown field {field!r}{_did_you_mean(field, IMPORT_FIELDS)}; {among}"
    return None


UPDATE_FIELDS: Check = _update_fields
NOT_NEGATIVE = _check(lambda v: math.isfinite(v) and v >= 0, "must be 0 or more, got {v}")
HEARTBEAT_KEYS = {  # the Config field of the same name
    "interval": Opt(float, 60.0, POSITIVE),
    "data_dir": Opt(str, "data", NON_EMPTY, resolve="path"),
    "log_format": Opt(str, "auto", _one_of("auto", "json", "console")),
    "log_level": Opt(str, "info", _one_of("debug", "info", "warning", "error")),
    "keep_history": Opt(int, None, DAYS),
    "min_free_mb": Opt(float, 100.0, NOT_NEGATIVE),
    "dead_after": Opt(float, 30.0, POSITIVE),  # seconds unseen before a registered process is dead
}
DATABASE_KEYS = {"url": Opt(str, None, resolve="db_url")}  # None: sqlite file <data_dir>/state.db


def listen_address(text: str) -> tuple[str, int] | None:
    """("HOST", PORT) of a "HOST:PORT" listen address ("[::1]:9464" for IPv6), or None if malformed."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535 or any(c in host for c in "[]/ "):
        return None
    return host, int(port)


LISTEN = _check(lambda v: listen_address(v), "must be HOST:PORT (e.g. 127.0.0.1:8080), got {v!r}")
HOST_NAMES = _check(lambda v: all(isinstance(h, str) and re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", h) for h in v),
                    "must list host names such as \"heartbeat.example.com\", got {v!r}")
ARGON2 = _check(lambda v: v.startswith("$argon2"),
                "expected an argon2 hash as printed by `heartbeat web hash-password`")
DURATION = _check(lambda v: re.fullmatch(r"[1-9][0-9]{0,5}[mhd]", v),
                  "must be a duration like 30m, 12h or 7d, got {v!r}")
WEB_KEYS = {"listen": Opt(str, None, LISTEN), "password_hash": Opt(str, None, ARGON2),  # core.config.Web
            "url": Opt(str, None, HTTP_URL),  # the page's public address, for links (notifications)
            "session_idle": Opt(str, "12h", DURATION),  # a login session ends after this without a request
            "allowed_hosts": Opt(list, [], HOST_NAMES)}  # Host names besides the listen address, localhost
METRICS_KEYS = {"listen": Opt(str, None, LISTEN)}  # [metrics]: served by `heartbeat run`
NOT_NEGATIVE = _check(lambda v: math.isfinite(v) and v >= 0, "must be 0 or more, got {v}")
HEADER = _check(lambda v: re.fullmatch(r"[A-Za-z0-9-]+", v), "must be an HTTP header name, got {v!r}")
EMAIL = re.compile(r"[^@\s<>,]+@[^@\s<>,]+")
NOTIFY_KEYS = {  # the core.config.Notify field of the same name (docs/notifications.md)
    "name": Opt(str, None, NAME),
    "on": Opt(list, ["error"]),
    "url": Opt(str, None, HTTP_URL),
    "secret": Opt(str, None, NON_EMPTY),
    "secret_header": Opt(str, "X-Heartbeat-Secret", HEADER),
    "email": Opt(list, None),
    "smtp_host": Opt(str, "localhost", NON_EMPTY),
    "smtp_port": Opt(int, 25, _check(lambda v: 0 < v < 65536, "must be a port from 1 to 65535, got {v}")),
    "smtp_tls": Opt(str, "none", _one_of("none", "starttls", "ssl")),
    "smtp_user": Opt(str, None, NON_EMPTY),
    "smtp_password": Opt(str, None),
    "smtp_from": Opt(str, None, _check(lambda v: EMAIL.fullmatch(v), "must be an e-mail address")),
    "timeout": Opt(float, 10.0, POSITIVE),
}
NOTIFY_EVENTS = tuple(s.value for s in TaskStatus if s is not TaskStatus.PENDING)
DOWNLOAD_KEYS = {  # every feed type: how a url is downloaded (connectors/feeds/download.py)
    "max_bytes": Opt(int, 1024 ** 3, AT_LEAST_1),
    "timeout": Opt(float, 30.0, POSITIVE),
    "retries": Opt(int, 2, _check(lambda v: 0 <= v <= 10, "must be from 0 to 10, got {v}")),
    "retry_delay": Opt(float, 2.0, NOT_NEGATIVE),
}
CONNECTION_TYPES: dict[str, dict[str, Opt]] = {
    "prestashop": {
        "url": Opt(str, resolve="db_url"),
        "prefix": Opt(str, "ps_", PREFIX),
        "id_shop": Opt(int, 1, AT_LEAST_1),
        "id_lang": Opt(int, 1, AT_LEAST_1),
        "base_url": Opt(str, None, HTTP_URL),  # the shop's address, for image URLs in exports
        "image_type": Opt(str, "large_default", NON_EMPTY),  # the image size (ps_image_type.name) in URLs
    },
    "directory": {"path": Opt(str, check=NON_EMPTY, resolve="path")},
    # an export's delivery target (connectors/platform/delivery.py): the file is uploaded when done
    "http": {
        "url": Opt(str, check=lambda v: target_url_problem(v)),
        "method": Opt(str, "PUT", _one_of("PUT", "POST")),
        "auth_header": Opt(str, "Authorization", HEADER_NAME),
        "auth_env": Opt(str, None, ENV_NAME),  # read when uploading, never stored in the config
        "gzip": Opt(bool, False),
        "connect_timeout": Opt(float, 10.0, POSITIVE),
        "timeout": Opt(float, 60.0, POSITIVE),
        "max_attempts": Opt(int, 8, _check(lambda v: 1 <= v <= 100, "must be from 1 to 100, got {v}")),
        "retry_delay": Opt(float, 60.0, POSITIVE),
        "max_retry_delay": Opt(float, 3600.0, POSITIVE),
    },
    # feeds: exactly one of url (http/https) or path (checked in _Loader.connections)
    "csv": {
        "url": Opt(str, None, HTTP_URL),
        "path": Opt(str, None, NON_EMPTY, resolve="path"),
        "delimiter": Opt(str, None, ONE_CHAR),
        "quotechar": Opt(str, '"', ONE_CHAR),
        "encoding": Opt(str, None, ENCODING),
        "mapping": Opt(dict, None, MAPPING),
        **DOWNLOAD_KEYS,
    },
    "json": {
        "url": Opt(str, None, HTTP_URL),
        "path": Opt(str, None, NON_EMPTY, resolve="path"),
        **DOWNLOAD_KEYS,
    },
}
FEED_TYPES = ("csv", "json")
PROFILE_KEYS = {  # the Profile field of the same name; the kind's options go to Profile.options
    "name": Opt(str, check=NAME),
    "kind": Opt(str),
    "source": Opt(str),
    "target": Opt(str, None),
    "schedule": Opt(str, None),
    "timezone": Opt(str, "UTC"),
    "batch_size": Opt(int, 100, BATCH),
    "misfire_grace": Opt(int, None, AT_LEAST_1),
    "enabled": Opt(bool, True),
}
KINDS: dict[str, Kind] = {
    "export": Kind(
        source=("prestashop",),
        target=("directory", "http"),
        options={
            "entity": Opt(str, "products", _one_of("products", "orders")),
            "full": Opt(bool, False),
            "allow_empty": Opt(bool, False),
            # the category mapping (docs/categories.md): which column's category each product carries,
            # and whether a product without one is skipped ("category is mandatory")
            "category_column": Opt(str, None, NAME),
            "category_required": Opt(bool, False),
            # the export guard (profiles/export_guard.py), against the products it tracks as sent
            "min_products_ratio": Opt(float, 0.5, RATIO),
            "max_deleted_ratio": Opt(float, 0.25, RATIO),
        },
    ),
    "import": Kind(
        source=FEED_TYPES,
        target=("prestashop",),
        target_required=True,
        options={
            "match_by": Opt(str, "reference", _one_of("reference", "ean13", "id")),
            "fields": Opt(list, ["price", "quantity", "active"], UPDATE_FIELDS),
            "mapping": Opt(dict, None, MAPPING),  # header -> field, over the feed connection's own
            "allow_empty": Opt(bool, False),
            "allow_negative_quantity": Opt(bool, False),
            # the suspicious-feed guard (docs/configuration.md), against the last completed import
            "min_rows_ratio": Opt(float, 0.5, RATIO),
            "max_changed_ratio": Opt(float, 0.2, RATIO),
            "max_price_change": Opt(float, 0.5, POSITIVE),
        },
    ),
    "maintenance": Kind(
        source=("prestashop",),
        target=(),
        options={
            "scope": Opt(str, PRODUCTS, _one_of(*MAINTENANCE_OPERATIONS)),
            "operation": Opt(str, check=_one_of(*dict.fromkeys(op for ops in MAINTENANCE_OPERATIONS.values()
                                                                for op in ops))),
            # fix-repeated-ids only: give each product sharing a reference one of its own (renames.py)
            "rename_repeated_references": Opt(bool, False),
        },
    ),
}
RULE_KEYS = {  # a [[category_rules]] entry: the target, then criteria (at least one)
    "column": Opt(str, check=NAME),
    "category": Opt(str, check=NON_EMPTY),
    "connection": Opt(str, None),
    "reference_prefix": Opt(str, None, NON_EMPTY),
    "name_contains": Opt(str, None, NON_EMPTY),
    "manufacturer_contains": Opt(str, None, NON_EMPTY),
    "shop_category": Opt(int, None, AT_LEAST_1),
}
RULE_CRITERIA = ("reference_prefix", "name_contains", "manufacturer_contains", "shop_category")
TOP_LEVEL = ("heartbeat", "database", "connections", "profiles", "category_rules", "notify", "web", "metrics")
DB_BACKENDS = ("sqlite", "mysql", "mariadb")
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean (true or false)",
               list: "an array", dict: "a table"}
_KIND_NAMES = {bool: "boolean", int: "integer", float: "float", str: "string"}  # bool first: it is an int
_SENSITIVE = ("url", "password", "passwd", "secret", "token")
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
# user:PASSWORD@ (the password runs to the last '@'), after a scheme:// or, without one, at the start
_USERINFO = re.compile(r"((?:[a-z][a-z0-9+.-]*://|(?!.*://))[^:/@]*:)(.*)(@[^@]*)", re.S | re.I)
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
_DOW = re.compile(rf"\*|{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*")  # no numbers: APScheduler's 0 is Monday


def redact_url(url: str) -> str:
    """The URL as written, with any password (user:PASSWORD@, ?password=) replaced by ***. Never
    raises; also safe for URLs that do not parse and for passwords with an unescaped '@'."""
    m = _USERINFO.fullmatch(url)
    return re.sub(r"([?&](?:password|passwd)=)[^&]*", r"\1***", f"{m[1]}***{m[3]}" if m else url)


def check_environment(config: Config, env: Mapping[str, str] | None = None) -> None:
    """What `profiles check` adds to loading: every http connection's `auth_env` variable is set in
    this environment (the daemon reads it only when it uploads). Raises ConfigError naming the key."""
    env = os.environ if env is None else env
    for conn in config.connections.values():
        name = conn.options.get("auth_env") if conn.type == "http" else None
        if name and name not in env:
            raise ConfigError(config.path, f"connections.{conn.name}.auth_env",
                              f"environment variable {name} is not set (the upload's "
                              f"{conn.options['auth_header']} header comes from it)")


def find_config_path(explicit: str | None) -> Path:
    """The config file to use: `explicit` (--config), else $HEARTBEAT_CONFIG, else ./heartbeat.toml.
    Raises ConfigError if that file does not exist."""
    env = os.environ.get("HEARTBEAT_CONFIG")
    path = Path(explicit or env or "heartbeat.toml")
    if not path.exists():
        why = "named by $HEARTBEAT_CONFIG" if env else "pass --config or set HEARTBEAT_CONFIG"
        raise ConfigError(path, None, "config file not found" + ("" if explicit else f" ({why})"))
    return path


def load(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; `${VAR}` comes from `env` (default os.environ). Returns a
    Config with every default filled in and every relative path resolved against the file's directory;
    raises ConfigError (one line: file, dotted key, reason) on the first mistake found."""
    return _Loader(Path(path), os.environ if env is None else env).load()


def category_rules(items: Any, connections: dict[str, Connection]) -> tuple[CategoryRule, ...]:
    """Rules given as [[category_rules]] tables (e.g. by the Categories page), checked exactly as the
    config file's are; ConfigError names `category_rules[i].key`."""
    return _Loader(Path("rules"), {}).category_rules(items, connections)


class _Loader:
    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path, self.env = path, env
        self.base = Path(os.path.abspath(path)).parent

    def err(self, key: str | None, reason: str) -> ConfigError:
        return ConfigError(_one_line(str(self.path)), key and _one_line(key), _one_line(reason))

    def load(self) -> Config:
        data = self.read()
        for key in data:
            if key not in TOP_LEVEL:
                hint = " (a [heartbeat] key?)" if key in HEARTBEAT_KEYS else _did_you_mean(key, TOP_LEVEL)
                raise self.err(key, f"unknown top-level table{hint}; allowed: {', '.join(TOP_LEVEL)}")
        hb = self.table(data.get("heartbeat", {}), HEARTBEAT_KEYS, "heartbeat")
        db = self.table(data.get("database", {}), DATABASE_KEYS, "database")
        connections = self.connections(self.expect_table(data.get("connections", {}), "connections"))
        web = self.table(data.get("web", {}), WEB_KEYS, "web")
        web = Web(**{**web, "url": web["url"].rstrip("/") if web["url"] else None,
                     "allowed_hosts": tuple(web["allowed_hosts"])})
        metrics = self.table(data.get("metrics", {}), METRICS_KEYS, "metrics")
        return Config(
            metrics_listen=metrics["listen"],
            path=Path(os.path.abspath(self.path)),
            database_url=db["url"] or _sqlite_url(hb["data_dir"] / "state.db"),
            connections=connections,
            profiles=self.profiles(data.get("profiles", []), connections),
            category_rules=self.category_rules(data.get("category_rules", []), connections),
            web=web,
            notify=self.notify(data.get("notify", [])),
            **hb,
        )

    def read(self) -> dict[str, Any]:
        """The parsed TOML document."""
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise self.err(None, "config file not found") from None
        except OSError as exc:
            raise self.err(None, f"cannot read config file: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise self.err(None, f"not UTF-8 text (bad byte at offset {exc.start})") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg, pos = re.match(r"(.*?)\s*(?:\((at [^()]*)\))?$", str(exc), re.S).groups()
            raise self.err(None, f"invalid TOML{' ' + pos if pos else ''}: {msg}") from None

    def expect_table(self, value: Any, dotted: str) -> dict:
        if not isinstance(value, dict):
            raise self.err(dotted, f"expected a table, got {_describe(value, dotted)}")
        return value

    def table(self, table: Any, spec: dict[str, Opt], where: str) -> dict[str, Any]:
        """Every key of `spec` read from `table` (defaults filled in); refuses keys not in `spec`."""
        for key in self.expect_table(table, where):
            if key not in spec:
                hint = _did_you_mean(key, spec)
                raise self.err(f"{where}.{key}", f"unknown key{hint}; allowed: {', '.join(spec)}")
        return {key: self.value(table, key, opt, f"{where}.{key}") for key, opt in spec.items()}

    def value(self, table: dict, key: str, opt: Opt, dotted: str) -> Any:
        """One key's value: interpolated, type-checked, checked and resolved."""
        if key not in table:
            if opt.default is REQUIRED:
                raise self.err(dotted, "required key is missing")
            return self.resolve_path(opt.default) if opt.default and opt.resolve == "path" else opt.default
        value = self.interpolate(table[key], dotted) if isinstance(table[key], str) else table[key]
        ok = isinstance(value, (int, float)) if opt.type is float else isinstance(value, opt.type)
        if not ok or (isinstance(value, bool) and opt.type is not bool):
            raise self.err(dotted, f"expected {_TYPE_NAMES[opt.type]}, got {_describe(value, key)}")
        value = float(value) if opt.type is float else value
        if opt.type is int and not -MAX_INT <= value <= MAX_INT:  # TOML integers go to 2**63
            raise self.err(dotted, f"{value} is out of range (at most {MAX_INT})")
        if opt.check and (reason := opt.check(value)):
            raise self.err(dotted, reason)
        if opt.resolve == "path":
            return self.resolve_path(value)
        return self.db_url(value, dotted) if opt.resolve == "db_url" else value

    def interpolate(self, text: str, dotted: str) -> str:
        """`text` with ${VAR} replaced from the environment and $${ turned into a literal ${."""

        def sub(m: re.Match) -> str:
            if m.group(0) == "$${":
                return "${"
            if m.group(1) is None:
                raise self.err(dotted, "malformed ${...}: write ${NAME}, or $${ for a literal ${")
            if m.group(1) not in self.env:
                raise self.err(dotted, f"environment variable {m.group(1)} is not set")
            return self.env[m.group(1)]

        return _VAR.sub(sub, text)

    def resolve_path(self, text: str) -> Path:
        return Path(os.path.normpath(self.base / Path(text).expanduser()))

    def db_url(self, raw: str, dotted: str) -> str:
        """A usable database URL; a relative sqlite file path made absolute (against the config dir)."""
        shown, userinfo = redact_url(raw), _USERINFO.fullmatch(raw)
        if userinfo and "@" in userinfo[2]:
            raise self.err(dotted, f"invalid database URL {shown}: percent-encode '@' in the password as %40")
        try:
            url = make_url(raw)
        except Exception as exc:  # only ArgumentError's text is safe: a bad port's may quote a password
            why = exc if isinstance(exc, ArgumentError) else "bad port (not a number?)"
            raise self.err(dotted, f"invalid database URL {shown}: {why}") from None
        if url.get_backend_name() not in DB_BACKENDS:
            raise self.err(dotted, f"unsupported database {shown}; use sqlite:///PATH or mysql+pymysql://")
        try:
            url.get_dialect().import_dbapi()
        except Exception as exc:  # a missing driver: its text names a module, never the URL
            raise self.err(dotted, f"cannot load the driver for {shown}: {exc}") from None
        if url.get_backend_name() != "sqlite":
            return raw
        db = url.database or ""
        if db in ("", ":memory:") or "mode=memory" in raw:
            raise self.err(dotted, f"in-memory SQLite ({shown}) would lose everything; give a file path")
        if db.startswith("file:") or Path(db).is_absolute():
            return raw
        return _sqlite_url(self.resolve_path(db), url)

    def connections(self, table: dict) -> dict[str, Connection]:
        """Every [connections.NAME] table, validated against CONNECTION_TYPES."""
        out = {}
        for name, body in table.items():
            if NAME(name):
                raise self.err("connections", f"invalid connection name: {NAME(name)}")
            where = f"connections.{name}"
            ctype = self.value(self.expect_table(body, where), "type", Opt(str), f"{where}.type")
            if ctype not in CONNECTION_TYPES:
                known = ", ".join(CONNECTION_TYPES)
                raise self.err(f"{where}.type", f"unknown connection type {ctype!r}; known: {known}")
            options = self.table(body, {"type": Opt(str), **CONNECTION_TYPES[ctype]}, where)
            if ctype in FEED_TYPES and (options["url"] is None) == (options["path"] is None):
                raise self.err(where, f"a {ctype} feed needs exactly one of url or path")
            out[name] = Connection(name, ctype, {k: v for k, v in options.items() if k != "type"})
        return out

    def profiles(self, items: Any, connections: dict[str, Connection]) -> tuple[Profile, ...]:
        """Every [[profiles]] entry, validated; names unique, references to existing connections."""
        if not isinstance(items, list):
            raise self.err("profiles", f"expected [[profiles]] tables, got {_describe(items, '')}")
        out: list[Profile] = []
        for i, body in enumerate(items):
            profile = self.profile(i, body, connections)
            first = next((j for j, p in enumerate(out) if p.name == profile.name), None)
            if first is not None:
                raise self.err(
                    f"profiles[{i}] ({profile.name}).name", f"duplicate name; see profiles[{first}]"
                )
            out.append(profile)
        return tuple(out)

    def profile(self, i: int, body: Any, connections: dict[str, Connection]) -> Profile:
        """One [[profiles]] entry: common keys, then its kind's options, references and schedule."""
        body = self.expect_table(body, f"profiles[{i}]")
        name = self.value(body, "name", PROFILE_KEYS["name"], f"profiles[{i}].name")
        where = f"profiles[{i}] ({name})"
        kind_name = self.value(body, "kind", PROFILE_KEYS["kind"], f"{where}.kind")
        kind = KINDS.get(kind_name)
        if kind is None:
            raise self.err(f"{where}.kind", f"unknown kind {kind_name!r}; known: {', '.join(KINDS)}")
        values = self.table(body, {**PROFILE_KEYS, **kind.options}, where)
        self.reference(connections, values["source"], kind.source, f"{where}.source", kind_name)
        if values["target"] is None and kind.target_required:
            wanted = " or ".join(kind.target)
            raise self.err(f"{where}.target", f"required key is missing: {kind_name} profiles write to a "
                                              f"connection of type {wanted}")
        if values["target"] is not None:
            self.reference(connections, values["target"], kind.target, f"{where}.target", kind_name)
        self.check_schedule(values["schedule"], values["timezone"], where)
        if kind_name == "export" and values["category_required"] and values["category_column"] is None:
            raise self.err(f"{where}.category_required", "needs category_column: the column whose category "
                                                         "each product must have (e.g. \"google\")")
        if kind_name == "export" and values["category_column"] == values["source"]:
            raise self.err(f"{where}.category_column", f"is the profile's own source {values['source']!r}; "
                                                       "name the platform's column (e.g. \"google\")")
        if kind_name == "maintenance" and values["operation"] not in MAINTENANCE_OPERATIONS[values["scope"]]:
            raise self.err(f"{where}.operation", f"{values['operation']!r} is not an operation of scope "
                                                 f"{values['scope']}; expected one of "
                                                 f"{', '.join(MAINTENANCE_OPERATIONS[values['scope']])}")
        options = {key: values.pop(key) for key in kind.options}
        return Profile(options=options, **values)

    def category_rules(self, items: Any, connections: dict[str, Connection]) -> tuple[CategoryRule, ...]:
        """Every [[category_rules]] entry, in order: a column, a category and at least one criterion."""
        if not isinstance(items, list):
            got = _describe(items, "")
            raise self.err("category_rules", f"expected [[category_rules]] tables, got {got}")
        out = []
        for i, body in enumerate(items):
            where = f"category_rules[{i}]"
            values = self.table(self.expect_table(body, where), RULE_KEYS, where)
            if values["connection"] is not None:
                self.reference(connections, values["connection"], ("prestashop",), f"{where}.connection",
                               "category")
            if all(values[key] is None for key in RULE_CRITERIA):
                raise self.err(where, f"a rule needs at least one criterion: {', '.join(RULE_CRITERIA)}")
            out.append(CategoryRule(index=i + 1, **values))
        return tuple(out)

    def notify(self, items: Any) -> tuple[Notify, ...]:
        """Every [[notify]] entry: a webhook (url) or an e-mail (email), names unique."""
        if not isinstance(items, list):
            raise self.err("notify", f"expected [[notify]] tables, got {_describe(items, '')}")
        out: list[Notify] = []
        for i, body in enumerate(items):
            if isinstance(body, dict) and isinstance(body.get("email"), str):
                body = {**body, "email": [body["email"]]}  # one address, written as a string
            values = self.table(self.expect_table(body, f"notify[{i}]"), NOTIFY_KEYS, f"notify[{i}]")
            name = values["name"] or f"notify-{i + 1}"
            where = f"notify[{i}] ({name})"
            if (values["url"] is None) == (values["email"] is None):
                raise self.err(where, "give exactly one of url (a webhook) or email (addresses to write to)")
            values["on"] = self.notify_events(values["on"], f"{where}.on")
            if values["email"] is not None:
                values["email"] = self.addresses(values["email"], f"{where}.email")
            if values["smtp_password"] is not None and values["smtp_user"] is None:
                raise self.err(f"{where}.smtp_user", "required with smtp_password")
            if any(n.name == name for n in out):
                raise self.err(f"{where}.name", "duplicate name; give each [[notify]] entry its own")
            out.append(Notify(**{**values, "name": name, "email": values["email"] or ()}))
        return tuple(out)

    def notify_events(self, on: list, dotted: str) -> frozenset[str]:
        for event in on:
            if event not in NOTIFY_EVENTS:
                shown = repr(event) if isinstance(event, str) else _describe(event, "")
                raise self.err(dotted, f"unknown status {shown}; expected some of {', '.join(NOTIFY_EVENTS)}")
        return frozenset(on)

    def addresses(self, emails: list, dotted: str) -> tuple[str, ...]:
        if not emails:
            raise self.err(dotted, "must list at least one address")
        for address in emails:
            if not isinstance(address, str) or not EMAIL.fullmatch(address):
                shown = repr(address) if isinstance(address, str) else _describe(address, "")
                raise self.err(dotted, f"not an e-mail address: {shown}")
        return tuple(emails)

    def reference(self, connections: dict, name: str, types: tuple[str, ...], dotted: str, kind: str) -> None:
        """Refuses a connection name that is undefined or whose type is not one of `types`."""
        conn = connections.get(name)
        if conn is None:
            known = ", ".join(connections) or "none defined"
            raise self.err(dotted, f"unknown connection {name!r}; connections: {known}")
        if conn.type not in types:
            role, wanted = dotted.rsplit(".", 1)[1], " or ".join(types)
            why = f"{kind} profiles need a {role} of type {wanted}"
            raise self.err(dotted, f"connection {name!r} is of type {conn.type!r}; {why}")

    def check_schedule(self, schedule: str | None, tz: str, where: str) -> None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise self.err(f"{where}.timezone", f"unknown time zone {tz!r}; use an IANA name") from None
        dow = (schedule or "").split()[4:]
        try:
            if len(dow) == 1 and not _DOW.fullmatch(dow[0].lower()):
                raise ValueError(f"day of week {dow[0]!r} must be * or names like mon-fri or sat,sun")
            if schedule is not None:
                cron = schedule_trigger(schedule, tz)
        except (ValueError, TypeError) as exc:
            raise self.err(f"{where}.schedule", f"invalid cron expression {schedule!r}: {exc}") from None
        # a 5-field cron has no year: one that has no slot after 2000 has none ever (30 February)
        if schedule is not None and cron.get_next_fire_time(None, _CRON_EPOCH) is None:
            raise self.err(f"{where}.schedule", f"cron expression {schedule!r} never fires (no such date)")


_CRON_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _describe(value: Any, key: str) -> str:
    """ "string '10'", "boolean true", "a table"...; never the value of a url/password-like key."""
    if isinstance(value, dict | list):  # never echoed: may be long or hold secrets
        return "a table" if isinstance(value, dict) else "an array"
    kind = next((n for t, n in _KIND_NAMES.items() if isinstance(value, t)), type(value).__name__)
    if any(s in key.lower() for s in _SENSITIVE):
        return kind
    shown = repr(redact_url(value)) if isinstance(value, str) else str(value).lower()  # True -> true
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped, so a message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _sqlite_url(path: Path, template: URL | None = None) -> str:
    """A sqlite URL for an absolute file path (keeping `template`'s driver and query, if given)."""
    url = template.set(database=str(path)) if template else URL.create("sqlite", database=str(path))
    return url.render_as_string(hide_password=False)


def _did_you_mean(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
