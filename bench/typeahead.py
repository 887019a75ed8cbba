"""The Categories page's type-ahead, timed (docs/categories.md, "How fast is the type-ahead"): the
taxonomy search `GET /api/categories/taxonomy/google?q=...` on Google's full 5,595-row taxonomy,
through a real `heartbeat web`-style server (uvicorn on 127.0.0.1, the API token, a SQLite state
database), one request after another as a typist's keystrokes; p50, p95 and the worst. Also the
suggestions' precision at 1 on the labelled sample (bench/category_labels.json).

    python -m bench.typeahead [--taxonomy taxonomy-with-ids.en-US.txt] [--queries 400]

Without --taxonomy it builds a 5,595-line file in Google's format from the shipped 603-row sample
(every real entry, then made-up deeper levels under them, ids above Google's), since this
machine cannot download Google's file: the same size, depth and word mix the search walks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from connectors.platform import taxonomy as taxonomies
from connectors.prestashop import create_demo_shop
from core.config import Config, Connection
from heartbeat.services import suggestions
from heartbeat.services.categories import SAMPLE_TAXONOMY, CategoryManager
from heartbeat.services.tasks import TaskManager
from heartbeat.web import server
from heartbeat.web.app import create_app
from reports import action_log
from tasks.database import create_state_engine, ensure_schema
from tasks.store import TaskStore

FULL = 5595  # rows in Google's taxonomy-with-ids.en-US.txt, version 2021-09-21
LABELS = Path(__file__).with_name("category_labels.json")
DEEPER = ["Accessories", "Parts", "Sets", "Kits", "Covers", "Cases", "Replacement Parts", "Mounts", "Holders",
          "Cleaners", "Bags", "Stands", "Refills", "Organizers", "Straps", "Lights", "Tools", "Pads"]
TOKEN = "bench-token-0123456789abcdef"


def full_size_taxonomy(out: Path) -> Path:
    """A Google-format file of FULL rows: the shipped sample's, then deeper made-up levels."""
    parsed = taxonomies.read(SAMPLE_TAXONOMY)
    rows = list(parsed.entries)
    rng, ident = random.Random(26), 900000
    parents = [path for _, path in rows if path.count(">") >= 1]
    seen = {path for _, path in rows}
    while len(rows) < FULL:
        parent = rng.choice(parents)
        leaf = parent.rsplit(">", 1)[-1].strip()
        path = f"{parent} > {leaf} {rng.choice(DEEPER)}"
        if path in seen:
            continue
        seen.add(path)
        ident += 1
        rows.append((str(ident), path))
    out.write_text(f"# Google_Product_Taxonomy_Version: {parsed.version}\n"
                   + "".join(f"{i} - {p}\n" for i, p in rows))
    return out


def keystrokes(entries: list[tuple[str, str]], count: int) -> list[str]:
    """What a typist sends: prefixes of 2 to 8 letters of real last levels, some two words."""
    rng, out = random.Random(7), []
    while len(out) < count:
        words = entries[rng.randrange(len(entries))][1].rsplit(">", 1)[-1].split()
        first = words[0].lower()
        out.append(first[:rng.randint(2, min(8, len(first)))] if len(first) >= 2 else first)
        if len(words) > 1 and len(out) < count:
            out.append(f"{first} {words[1].lower()[:3]}")
    return out


def serve(tasks: TaskManager):
    app = create_app(tasks, password_hash=None, api_token=TOKEN, secret_key=b"b" * 32)
    srv = server.server(app)
    sock = server.bind("127.0.0.1", 0)
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve(sockets=[sock])), daemon=True)
    thread.start()
    return srv, sock, thread


def timed(base: str, queries: list[str]) -> list[float]:
    """Milliseconds per request, each one a fresh connection as a browser's fetch may be."""
    out = []
    for q in queries:
        url = f"{base}/api/categories/taxonomy/google?limit=12&q={urllib.parse.quote(q)}"
        request = urllib.request.Request(url,
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as answer:
            json.loads(answer.read())
        out.append((time.perf_counter() - start) * 1000)
    return out


def precision() -> dict[str, str]:
    index = suggestions.Index.of(dict(taxonomies.read(SAMPLE_TAXONOMY).entries))
    labels = json.loads(LABELS.read_text())
    out = {}
    for part in ("fashion", "demo"):
        sample = [(e["path"], e.get("products", []), set(e["accept"])) for e in labels[part]]
        right, total = suggestions.precision_at_1(index, sample)
        out[part] = f"{right}/{total} = {right / total:.0%}"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.typeahead")
    parser.add_argument("--taxonomy", type=Path,
                        help="Google's taxonomy-with-ids file (default: one built, 5,595 rows)")
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.taxonomy or full_size_taxonomy(work / "taxonomy-with-ids.en-US.txt")
        shop = f"sqlite:///{work / 'shop.db'}"
        create_demo_shop(shop, products=200, seed=42)
        connection = Connection("shop", "prestashop",
                                {"url": shop, "prefix": "ps_", "id_shop": 1, "id_lang": 1})
        config = Config(path=work / "heartbeat.toml", data_dir=work / "data",
                        database_url=f"sqlite:///{work / 'state.db'}", interval=60.0,
                        connections={"shop": connection}, profiles=())
        engine = create_state_engine(config.database_url)
        ensure_schema(engine)
        store = TaskStore(engine, action_log)
        loaded = CategoryManager(config, store).load_taxonomy("google", source)
        tasks = TaskManager(config, store)
        srv, sock, thread = serve(tasks)
        try:
            base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            queries = keystrokes(loaded.entries, args.queries)
            timed(base, queries[:20])  # warm: the first request reads the taxonomy as every one does
            ms = sorted(timed(base, queries))
        finally:
            srv.should_exit = True
            thread.join(10)
            sock.close()
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(json.dumps({"taxonomy": str(args.taxonomy or f"built from the sample ({FULL} rows)"),
                      "rows": len(loaded.entries), "requests": len(ms),
                      "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
                      "max_ms": round(ms[-1], 1), "p95_under_100_ms": p95 < 100,
                      "suggestions_precision_at_1": precision()}, indent=2))
    return 0 if p95 < 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
