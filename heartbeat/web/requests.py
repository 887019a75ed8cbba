"""What a request asks for, checked: the task list's filters and cursor, a task id, run options.
A bad value is a BadRequest (400) naming the parameter and the value."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from core.errors import MAX_ID, HeartbeatError
from tasks.states import TaskStatus

KINDS = ("export", "import", "maintenance")
STATUSES = tuple(s.value for s in TaskStatus)
PAGE, MAX_PAGE = 50, 500


class BadRequest(HeartbeatError):
    """A request parameter with a value we cannot use."""


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    profile: str | None = None
    kind: str | None = None
    before: int | None = None
    limit: int = PAGE

    def page(self, tasks) -> list:
        """The tasks these filters select (tasks: a TaskManager), newest first."""
        return tasks.list(status=self.status, profile=self.profile, kind=self.kind, before=self.before,
                          limit=self.limit)

    def query(self, **change) -> str:
        """These filters (with `change`) as a query string, for links to other pages."""
        values = {**asdict(self), **change}
        if values["limit"] == PAGE:
            values.pop("limit")
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def filters(params) -> Filters:
    """The task list's filters from query parameters (a mapping)."""
    status, kind = params.get("status") or None, params.get("kind") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status: expected one of {', '.join(STATUSES)}, got {status!r}")
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return Filters(status=status, profile=params.get("profile") or None, kind=kind,
                   before=number(params, "before", None), limit=min(number(params, "limit", PAGE), MAX_PAGE))


def number(params, name: str, default: int | None) -> int | None:
    text = params.get(name) or None
    if text is None:
        return default
    if not text.isdigit() or len(text) > 12 or not 1 <= int(text) <= MAX_ID:
        raise BadRequest(f"{name}: expected a whole number from 1 to {MAX_ID}, got {text[:40]!r}")
    return int(text)


def flag(params, name: str) -> bool:
    return (params.get(name) or "").lower() in ("1", "true", "yes", "on")
