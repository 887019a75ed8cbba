"""Where a run's databases live: fresh state databases and fresh copies of one demo shop.

A shop is generated once per size (`template`) and copied for each measurement, so every contestant
starts from the same bytes: a file copy on SQLite, `CREATE TABLE ... LIKE` + `INSERT ... SELECT` on
MariaDB (three times faster than generating it again). MariaDB databases are named `hb_bench_*` and
dropped by `close()`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from pathlib import Path

from bench.limit import mysql_connect

DEFAULT_MARIADB = os.environ.get("HEARTBEAT_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")


class Backend:
    name = ""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._templates: dict[int, str] = {}

    def template(self, products: int) -> str:
        """URL of the (read-only) demo shop of `products` products, generated on first use."""
        from connectors.prestashop import create_demo_shop

        if products not in self._templates:
            url = self._new_database(f"template{products}", shop=True)
            create_demo_shop(url, products=products)
            self._templates[products] = url
        return self._templates[products]

    def state(self, label: str) -> str:
        """URL of a new, empty state database (the product creates its schema on first use)."""
        return self._new_database(f"{label}-state", shop=False)

    def shop(self, label: str, products: int) -> str:
        """URL of a fresh copy of the template shop."""
        source = self.template(products)
        target = self._new_database(f"{label}-shop", shop=True)
        self._copy(source, target)
        return target

    def version(self) -> str:
        raise NotImplementedError

    def discard(self, url: str) -> None:
        """Remove a database made by `state` or `shop` once its figures are taken."""

    def close(self) -> None:
        """Drop what this run created."""

    def _new_database(self, label: str, shop: bool) -> str:
        raise NotImplementedError

    def _copy(self, source: str, target: str) -> None:
        raise NotImplementedError


class SQLite(Backend):
    name = "sqlite"

    def version(self) -> str:
        return sqlite3.sqlite_version

    def _new_database(self, label: str, shop: bool) -> str:
        path = self.workdir / "sqlite" / f"{label}-{uuid.uuid4().hex[:6]}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    def discard(self, url: str) -> None:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)

    def _copy(self, source: str, target: str) -> None:
        shutil.copyfile(source.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))


class MariaDB(Backend):
    name = "mariadb"

    def __init__(self, workdir: Path, server: str = DEFAULT_MARIADB):
        super().__init__(workdir)
        self.server = server.rstrip("/")
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self._admin = mysql_connect(self.server, database=False)
        self._admin.autocommit(True)

    @staticmethod
    def unreachable(server: str = DEFAULT_MARIADB) -> str | None:
        """None when the server answers, else why not."""
        try:
            mysql_connect(server, database=False).close()
        except Exception as exc:  # any driver error means: not there
            return str(exc).splitlines()[0]
        return None

    def version(self) -> str:
        with self._admin.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return cur.fetchone()[0]

    def _new_database(self, label: str, shop: bool) -> str:
        name = f"hb_bench_{self.run_id}_{len(self.created)}_{label.replace('-', '_')}"[:64]
        with self._admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.created.append(name)
        return f"{self.server}/{name}?charset=utf8mb4"

    def _copy(self, source: str, target: str) -> None:
        src, dst = (_database_of(u) for u in (source, target))
        with self._admin.cursor() as cur:
            cur.execute(f"SHOW TABLES FROM `{src}`")
            for (table,) in cur.fetchall():
                cur.execute(f"CREATE TABLE `{dst}`.`{table}` LIKE `{src}`.`{table}`")
                cur.execute(f"INSERT INTO `{dst}`.`{table}` SELECT * FROM `{src}`.`{table}`")

    def discard(self, url: str) -> None:
        name = _database_of(url)
        with self._admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        self.created.remove(name)

    def close(self) -> None:
        with self._admin.cursor() as cur:
            for name in self.created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        self.created.clear()
        self._admin.close()


def _database_of(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]
