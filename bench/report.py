"""What the bench prints and saves: the machine, the targets (SPEC.md, "Targets", as issue 28 set
them: export >= 0.80 and import >= 0.85 of the best raw pipeline, the median of the side-by-side
pairs' ratios) and the table."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

from bench.proc import ROOT

TARGETS = {  # (results path, comparison, threshold, wording)
    "export vs limit": (("export", "ratios", "product_to_limit_median"), ">=", 0.80,
                        ">= 0.80 of the limit, median of the pairs"),
    "export vs peer": (("export", "ratios", "product_to_peer_median"), ">", 1.0, "> 1.0 x the rq peer"),
    "import vs limit": (("import", "ratios", "product_to_limit_median"), ">=", 0.85,
                        ">= 0.85 of the limit, median of the pairs"),
    "import vs peer": (("import", "ratios", "product_to_peer_median"), ">", 1.0, "> 1.0 x the rq peer"),
    "idle tick": (("idle_tick", "median_ms"), "<", 20.0, "< 20 ms"),
    "export peak RSS": (("memory", "export_peak_rss_mb"), "<", 300.0, "< 300 MB at 1,000,000"),
    "report peak RSS": (("memory", "report_peak_rss_mb"), "<", 300.0, "< 300 MB at 1,000,000"),
}


def sig(value: float, digits: int = 4) -> float:
    """`value` to `digits` significant digits: small timings keep their precision."""
    return float(f"{value:.{digits}g}")


PRODUCT_DIRS = ("heartbeat", "tasks", "profiles", "reports", "connectors")


def code_version() -> dict:
    """The commit measured and whether the product's folders differ from it (taken at the start:
    a run lasts minutes and the tree may move meanwhile)."""
    return {"commit": _git("rev-parse", "HEAD"),
            "uncommitted_changes": bool(_git("status", "--porcelain", "--", *PRODUCT_DIRS))}


def machine(versions: dict[str, str], load_start: tuple[float, ...], code: dict) -> dict:
    info = {
        "cores": os.cpu_count(), "cpu": _cpu_model(), "memory_gb": _mem_gb(),
        "platform": platform.platform(), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, **versions,
        "packages": {p: _version(p) for p in ("sqlalchemy", "pymysql", "rq", "redis")},
        "load_average_start": [round(x, 2) for x in load_start],
        **code,
    }
    return info


def targets(results: dict, memory_products: int | None) -> list[dict]:
    """Every target that has a figure in `results`, with whether it is met."""
    out = []
    for db, sections in results.items():
        for name, (path, op, threshold, wording) in TARGETS.items():
            value = _get(sections, path)
            if not isinstance(value, int | float):
                why = _get(sections, (path[0], "product", "skipped"))
                if why:  # a figure the product cannot give yet: say so rather than leave it out
                    out.append({"db": db, "figure": name, "value": None, "target": wording, "met": None,
                                "note": why})
                continue
            if path[0] == "memory" and (memory_products or 0) < 1_000_000:
                wording = wording.replace("at 1,000,000", f"(measured at {memory_products:,})")
            met = {"<": value < threshold, ">": value > threshold, ">=": value >= threshold}[op]
            out.append({"db": db, "figure": name, "value": value, "target": wording, "met": met})
    return out


def table(doc: dict) -> str:
    p, m = doc["parameters"], doc["machine"]
    versions = f"{m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}"
    if m.get("mariadb"):
        versions += f", MariaDB {m['mariadb']}"
    lines = [
        f"Heartbeat bench: {p['products']:,} products, batch {p['batch_size']}, best of {p['repeat']} "
        f"({versions})",
        f"load average {_load(m['load_average_start'])} at start, {_load(doc['load_average_end'])} at "
        "end: a shared machine, so read the ratios (same run), not the absolute figures",
        "",
        f"{'':34}{'product':>12}{'limit':>12}{'peer':>12}{'prod/limit':>12}{'prod/peer':>11}",
    ]
    for db, s in doc["results"].items():
        lines.append(db)
        for kind in ("export", "import"):
            if kind in s:
                lines.extend(_throughput_rows(kind, s[kind]))
        if "enqueue" in s:
            e = s["enqueue"]
            lines.append(_row(f"enqueue {p['products']:,} (s)", e.get("product_s"), e.get("limit_s"),
                              None, e.get("ratios", {}).get("product_to_limit"), None, e.get("error")))
        if "idle_tick" in s:
            i = s["idle_tick"]
            lines.append(_row(f"idle tick, {p['idle_tasks']:,} tasks (ms)", i.get("median_ms"),
                              i.get("limit_median_ms"), None, i.get("ratios", {}).get("product_to_limit"),
                              None, i.get("error")))
        if "maintenance" in s:
            lines.append(_maintenance_row(s["maintenance"]))
        if "memory" in s:
            mem = s["memory"]
            n = f"{p['memory_products'] or 0:,}"
            if "skipped" in mem or "error" in mem:
                lines.append(_row("memory", None, None, None, None, None,
                                  mem.get("error") or mem.get("skipped")))
            else:
                lines.append(_row(f"peak RSS, export {n} (MB)", mem["export_peak_rss_mb"]))
                lines.append(_row(f"peak RSS, report {n} (MB)", mem["report_peak_rss_mb"]))
                lines.append(_row(f"enqueue {n}, from log (s)", mem["enqueue_s"]))
    lines += ["", "targets (SPEC.md):"]
    for t in doc["targets"]:
        verdict = {True: "ok  ", False: "MISS", None: "n/a "}[t["met"]]
        value = t.get("note") if t["value"] is None else f"{_cell(t['value']):>9}"
        lines.append(f"  {verdict} {t['db']:<8} {t['figure']:<16} {value} (target {t['target']})")
    if not doc["targets"]:
        lines.append("  (no figure to compare)")
    return "\n".join(lines)


NOISY = 0.25  # a spread of samples above this is flagged


def _throughput_rows(kind: str, t: dict) -> list[str]:
    if "error" in t:
        return [_row(f"{kind} (items/s)", None, None, None, None, None, t["error"])]
    r, who = t.get("ratios", {}), ("product", "limit", "peer")
    notes = [] if t.get("same_output", True) else ["OUTPUTS DIFFER: the ratios compare different work"]
    spreads = {c: t[c]["spread"] for c in who if t[c].get("spread", 0) > NOISY}
    if spreads:
        notes.append("noisy: slowest run " + ", ".join(f"{c} +{v:.0%}" for c, v in spreads.items())
                     + " over the fastest")
    rows = [_row(f"{kind} (items/s)", *[t[c].get("items_per_s", t[c].get("skipped")) for c in who],
                 r.get("product_to_limit"), r.get("product_to_peer"), "; ".join(notes) or None)]
    if "product_to_limit_cpu" in r:
        rows.append(_row(f"{kind}, own CPU time (s)", *[t[c].get("cpu_s") for c in who],
                         r.get("product_to_limit_cpu"), r.get("product_to_peer_cpu")))
    if "product_to_limit_median" in r:  # what the targets read
        rows.append(_row(f"{kind}, median of the pairs", None, None, None,
                         r.get("product_to_limit_median"), r.get("product_to_peer_median")))
    return rows


def _maintenance_row(m: dict) -> str:
    """The product's analysis alone: there is no limit or peer to compare it with."""
    label = f"{m.get('operation', 'maintenance')} (items/s)"
    if "error" in m:
        return _row(label, None, None, None, None, None, m["error"])
    p = m["product"]
    note = "the product only (no limit or peer); queueing + tick --until-idle"
    if p.get("spread", 0) > NOISY:
        note += f"; noisy: slowest run +{p['spread']:.0%} over the fastest"
    return _row(label, p["items_per_s"], note=note)


def _row(label, product=None, limit=None, peer=None, to_limit=None, to_peer=None, note=None) -> str:
    """One line of figures; a text in place of a figure (why it is missing) goes below it."""
    cells = "".join(f"{_cell(v):>12}" for v in (product, limit, peer))
    ratios = f"{_cell(to_limit, ratio=True):>12}{_cell(to_peer, ratio=True):>11}"
    text = f"  {label:<32}{cells}{ratios}".rstrip()
    notes = list(dict.fromkeys(v for v in (product, limit, peer, note) if isinstance(v, str)))
    return text + "".join(f"\n      {n.splitlines()[0]}" for n in notes)


def _cell(value, ratio: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "n/a" if value.startswith("n/a") else "-"
    if ratio:
        return f"{value:.2f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _get(d: dict, path: tuple):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _load(values) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _mem_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            return round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
