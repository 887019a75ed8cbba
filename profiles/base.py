"""The contract every kind of profile fulfils.

A Worker is made once per profile per process and reused across ticks (it may hold connections).
The heartbeat asks it for a task's queue when the task starts, and for the outcome of each item of
a batch. It never writes the state database: it reads the few records it needs (Records) through
what it was given at construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from core import jsontext
from core.config import Config, Profile
from core.errors import FatalTaskError
from reports.action_log import empty_source
from tasks.models import Finding, Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus
from tasks.stores.categories import CategoryStore
from tasks.stores.sent import SentStore


class Records(Protocol):
    """What a worker reads of Heartbeat's own records (tasks.store.TaskStore is one): the products a
    profile tracks as sent and their references, the tasks, the category mapping."""

    categories: CategoryStore
    sent: SentStore

    def list(self, status: str | None = None, profile: str | None = None,
             limit: int | None = 50) -> list[Task]: ...


class Effect(NamedTuple):
    """One item's planned write outside the state database: its queue position and what the worker
    needs to carry it out (JSON-able; a plan saves it as the array [position, data])."""

    position: int
    data: Any


@dataclass
class Processed:
    """A batch's results: one outcome per item, in order; the lines it adds to the task's export
    file; the effects to apply outside the state database (shop writes, JSON-able); the hashes (and
    digests per field) of what was sent, for change tracking; a maintenance task's findings."""

    outcomes: list[Outcome]
    export_lines: list[bytes | str] = field(default_factory=list)  # encoded records (export), or text
    effects: list[Effect] = field(default_factory=list)
    sync: dict[int, str] = field(default_factory=dict)
    fields: dict[int, str] = field(default_factory=dict)  # product id -> a digest per field sent
    findings: list[Finding] = field(default_factory=list)
    forget: list[int] = field(default_factory=list)  # product ids it stops tracking (announced deleted)

    def only(self, first: int, last: int) -> Processed:
        """The part of a plan about positions first..last (a redo may take fewer items than planned)."""
        return Processed(outcomes=[o for o in self.outcomes if first <= o.position <= last],
                         effects=[e for e in self.effects if first <= e.position <= last],
                         findings=[f for f in self.findings if first <= f.position <= last])

    def plan_json(self, at: str) -> str:
        """This batch's plan, made at `at` (ISO time), to save before applying its effects
        (export lines and sync are not part of plans). Decimals in effects are kept as exact text."""
        plan = {"outcomes": self.outcomes, "effects": self.effects}  # an Outcome is an array, its status text
        if self.findings:
            plan["findings"] = self.findings
        return jsontext.dumps({"at": at, "processed": plan}, default=_exact)

    @classmethod
    def from_plan_json(cls, text: str) -> tuple[Processed, str]:
        """(plan, when it was made) from `plan_json`'s text."""
        data = jsontext.loads(text)
        plan = data["processed"]
        if isinstance(plan, str):  # saved by a version that encoded the plan twice
            plan = jsontext.loads(plan)
        outcomes = [Outcome(p, ItemStatus(s), *rest) for p, s, *rest in plan["outcomes"]]
        effects = [Effect(e[0], e[1] if len(e) == 2 else e[1:]) for e in plan["effects"]]  # older: flat
        findings = [Finding(*f) for f in plan.get("findings", [])]
        return cls(outcomes=outcomes, effects=effects, findings=findings), data["at"]


def _exact(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a plan")


class Worker(ABC):
    has_export_file = False  # the heartbeat appends Processed.export_lines to the task's export file
    has_side_effects = False  # process() plans effects that apply() carries out (see heartbeat.engine.beat)
    tracks_changes = False  # process() gets what was last sent, and reports what it sends
    change_actions: frozenset[str] = frozenset()  # outcome actions that change a shop (logged by name)

    def __init__(self, profile: Profile, config: Config, records: Records | None = None):
        """`records`: Heartbeat's own records, for the workers that read them (None where a command
        only lists or describes, and in the bench)."""
        self.profile, self.config, self.records = profile, config, records

    def prepare(self, task: Task, previous: Task | None) -> None:
        """What `task` needs before its queue is built, done outside the state database's
        transaction (an import fetches its feed). Raises what build_queue may raise."""
        return None

    def prepare_retry(self, task: Task) -> None:
        """What a retry (`task.retry_of` set) needs before the store queues its original's error
        items in place of build_queue: no feed is read and no guard runs. Raises FatalTaskError
        (or a ConnectorError) when it cannot start."""
        return None

    @abstractmethod
    def build_queue(self, previous: Task | None = None, task: Task | None = None) -> Iterable[QueueEntry]:
        """The items of new `task`, streamed; `previous` is the profile's last completed task (not
        a dry run). Raises FatalTaskError when the task cannot start, SourceUnchanged when it has
        nothing to do because its source is the one `previous` used."""

    @abstractmethod
    def process(self, task: Task, items: list[Item], previous: Mapping[int, tuple[str, int]]) -> Processed:
        """Handle a batch: one outcome per item. A failing item becomes an `error` outcome; only a
        failure of the whole batch (e.g. a lost connection) raises. `previous` maps product ids to
        (hash, task id) of what was last sent, for workers that track changes (else empty). A
        worker with side effects must not cause them here, only describe them in `effects`."""

    def logs_change(self, outcome: Outcome) -> bool:
        """True if the action log names this item among its batch's first changes
        (reports.action_log.changes): by default, an outcome whose action is in `change_actions`."""
        return outcome.action in self.change_actions

    def apply(self, effects: list[Effect], at: str) -> None:
        """Carry out planned effects; must be idempotent (a redo after a crash applies them again).
        `at` is the ISO time the plan was made."""
        return None

    def forgotten(self, effects: list[Effect]) -> dict[str, list[int]]:
        """Products whose change tracking applied `effects` drop ({profile: product ids}): done in
        the batch's own transaction, with its outcomes (a maintenance fix of tracking rows)."""
        return {}

    def effect_lines(self, effects: list[Effect]) -> list[str]:
        """Export-file lines that describe applied `effects` (a maintenance fix's undo lines);
        written with the batch, after its export_lines."""
        return []

    def duplicate_note(self) -> Callable[[str | None], str] | None:
        """How to word an item whose reference an earlier item has, or None to allow repeats."""
        return None

    def export_path(self, task: Task) -> str | None:
        return None

    @property
    def source_name(self) -> str:
        return self.profile.source

    entity = "products"  # what the export file's array holds

    def close(self) -> None:
        """Release connections; the worker is not used afterwards."""
        return None


def non_empty(entries: Iterable[QueueEntry], allow_empty: bool,
              connection: str | None = None) -> Iterator[QueueEntry]:
    """Pass entries through, but refuse an empty source (the seed's "No available items to grab",
    naming `connection`) unless the profile allows it: an empty shop or feed more often means
    something broke."""
    it = iter(entries)
    first = next(it, None)
    if first is None:
        if allow_empty:
            return
        raise FatalTaskError(empty_source(connection))
    yield first
    yield from it


def exports_dir(profile: Profile, config: Config) -> Path:
    """Where a profile's export files go: its target directory connection, else <data_dir>/exports
    (also when the target is an http connection: the file is kept there and delivered from there)."""
    if profile.target and config.connections[profile.target].type == "directory":
        return Path(config.connections[profile.target].options["path"])
    return config.data_dir / "exports"


def delivery_target(profile: Profile, config: Config) -> str | None:
    """The http connection an export profile's finished files are uploaded to, or None."""
    conn = config.connections.get(profile.target) if profile.kind == "export" and profile.target else None
    return conn.name if conn is not None and conn.type == "http" else None
