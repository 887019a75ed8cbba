"""A maintenance task's result: the seed's "JSON dictionary report of the different detected bad
patterns and its frequency" (schema: connectors/platform/maintenance-result.schema.json).

    {"operation": "analyze-integrity", "scope": "products", "connection": "shop",
     "status": "completed", "checked": {"products": 300, "stock_available": 1},
     "patterns": {"price_drift": {"count": 1, "fixed": 0, "examples": ["DEMO-000012"]}, ...},
     "not_checked": ["ps_image: table not found"]}

Every pattern the operation can report is present, with count 0 when none was found; `examples`
name the first 10 records found, in the order they were checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

NOT_CHECKED = "not_checked"  # the pattern under which a task records what it could not check


PLURAL = {"product": "products", "order": "orders"}  # a scope's own records are counted as the scope


def result(*, operation: str, scope: str, connection: str, status: str, patterns: Iterable[str],
           findings: Mapping[str, dict], kinds: Iterable[str | None]) -> dict[str, Any]:
    """The result of a task from its status, its findings by pattern (TaskStore.findings) and
    the kind of record each of its processed items checked (counted). A result is final once
    `status` is "completed"; a running, killed or failed task's counts cover what was checked."""
    checked = Counter(PLURAL.get(kind or "", kind or "record") for kind in kinds)
    found = {name: findings.get(name, {"count": 0, "fixed": 0, "examples": []}) for name in patterns}
    found.update({k: v for k, v in findings.items() if k != NOT_CHECKED and k not in found})
    return {
        "operation": operation, "scope": scope, "connection": connection, "status": status,
        "checked": dict(sorted(checked.items())),
        "patterns": found,
        "not_checked": findings.get(NOT_CHECKED, {}).get("examples", []),
    }
