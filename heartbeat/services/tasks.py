"""The task verbs: one set for every front door (the CLI today, the web page tomorrow).

Queue a profile's task, list and show tasks, kill, delete and prune them (with their files), and
read a task's action log, CSV report and export file as streams. Each verb raises domain errors
only (core.errors: TaskNotFound, Refused, IllegalTransition, StateDatabaseError...), so a front door
turns them into its own answer (an exit code and one line; an HTTP status) without knowing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from connectors.prestashop import integrity
from core.clock import Clock, iso
from core.config import Config
from core.errors import ProfileNotFound, Refused
from heartbeat.config import schedule
from heartbeat.engine import history, notify, space
from heartbeat.engine.history import Removed
from heartbeat.engine.uploads import Uploader
from profiles import maintenance_available as available  # loads the checks when a command asks
from profiles import worker_for
from reports import action_log, csv_report, export_file, maintenance_result, undo_file
from reports import delivery as delivery_wording
from tasks.leases import current_owner
from tasks.models import ItemRecord, Task
from tasks.states import ItemStatus, TaskStatus
from tasks.store import TaskStore
from tasks.stores.uploads import ExportUpload


class TaskManager:
    def __init__(self, config: Config, store: TaskStore, clock: Clock | None = None):
        self.config, self.store = config, store
        self.clock = clock or Clock()

    # -- queueing -------------------------------------------------------------------------------------

    def queue(self, profile_name: str, *, full: bool = False, dry_run: bool = False,
              force: bool = False) -> Task:
        """A new pending task of the profile, due now (the next heartbeat starts it). `full`
        (exports) sends every product; `dry_run` (imports, exports) plans and reports but writes,
        sends and tracks nothing; `force` skips once the suspicious-feed guard and the
        unchanged-feed check (imports) or the export guard (exports). Raises AlreadyPending while
        the same run (same options) is still pending: it waits for its profile, once."""
        profile = self.config.profile(profile_name)
        if profile not in self.config.profiles:  # an on-demand maintenance task's name
            raise Refused(f"{profile_name!r} is not a configured profile; queue a maintenance task with "
                          "`heartbeat maintenance run CONNECTION OPERATION`")
        both = ("import", "export")
        for flag, wanted, kinds in (("--full", full, ("export",)), ("--dry-run", dry_run, both),
                                    ("--force", force, both)):
            if wanted and profile.kind not in kinds:
                raise Refused(f"{flag} is for {' and '.join(kinds)} profiles; {profile.name} is "
                              f"{_a(profile.kind)} profile")
        options = {name: True for name, wanted in (("full", full), ("dry_run", dry_run), ("force", force))
                   if wanted}
        return self.store.create_once(profile, "manual", self.clock.now(), options=options or None)

    def profiles(self) -> list[dict]:
        """Every configured profile with its next run and its last task (`profiles list --json`)."""
        rows, recorded, now = [], self.store.next_slots(), self.clock.now()
        for p in self.config.profiles:
            next_run = None
            if p.schedule and p.enabled:
                # the slot the daemon recorded (due at the next tick if past), else the schedule's next
                next_run = iso(recorded.get(p.name) or schedule.first_slot(schedule.of_profile(p), now))
            last = self.store.last_task(p.name)
            rows.append({"name": p.name, "kind": p.kind, "source": p.source, "target": p.target,
                         "schedule": p.schedule, "enabled": p.enabled, "next_run": next_run,
                         "batch_size": p.batch_size, "last_task": last.id if last else None,
                         "last_status": last.status.value if last else None})
        return rows

    # -- the task manager ---------------------------------------------------------------------------

    def list(self, status: str | None = None, profile: str | None = None, limit: int | None = 50,
             kind: str | None = None, before: int | None = None) -> list[Task]:
        """Tasks newest first; `before` an id: the page after the one that ended with it."""
        return self.store.list(status=status, profile=profile, limit=limit, kind=kind, before=before)

    def show(self, task_id: int) -> Task:
        return self.store.get(task_id)

    def kill(self, task_id: int) -> Task:
        """pending|running -> killed; its pending items become cancelled."""
        return self.store.kill(task_id, self.clock.now())

    def delete(self, task_id: int) -> Removed:
        """The task with its items, action log and export file (killed first if still active)."""
        return history.delete(self.store, task_id, self.clock.now())

    def prune(self, older_than: timedelta, statuses: Iterable[str] | None = None,
              now: datetime | None = None) -> Removed:
        """Delete the tasks that finished longer than `older_than` before `now` (optionally only
        some finished statuses), with their items, logs and export files."""
        if statuses:
            active = [s for s in statuses if not TaskStatus(s).finished]
            if active:
                raise Refused(f"only finished tasks are pruned, not {', '.join(active)} ones")
        return history.prune(self.store, older_than, now or self.clock.now(), statuses)

    # -- a task's files, as streams ------------------------------------------------------------------

    def log(self, task_id: int) -> Iterator[str]:
        """The action log, a line of text at a time."""
        return (action_log.render(line) for line in self.store.log(task_id))

    def log_tail(self, task_id: int, lines: int = 30) -> list[str]:
        """The action log's last `lines` lines, rendered as `log` renders them."""
        return [action_log.render(line) for line in self.store.log(task_id)[-lines:]]

    def report(self, task_id: int) -> Iterator[str]:
        """The CSV report, a line at a time, in constant memory."""
        return csv_report.lines(self.store.items(task_id))

    def find_in_report(self, task_id: int, text: str, limit: int = 20) -> list[ItemRecord]:
        """The report's rows of a product, found by its reference or its product id."""
        return self.store.find_items(task_id, text.strip(), limit)

    def export_file(self, task_id: int) -> Iterator[bytes]:
        """The JSON export file (closed into a valid document while the task still runs)."""
        task = self.store.get(task_id)
        if task.kind != "export":
            raise Refused(f"task {task.id} is {_a(task.kind)} task; only export tasks have an export file")
        if task.options.get("dry_run"):
            raise Refused(f"task {task.id} is a dry run: it has no export file (its report says what "
                          "it would have sent)")
        if not task.export_bytes:
            raise Refused(f"task {task.id} {_NO_EXPORT_FILE[task.status]}")
        return export_file.read(task)

    # -- delivery of export files to an http target ---------------------------------------------------

    def delivery(self, task_id: int) -> ExportUpload | None:
        """The task's delivery (None: its file is not delivered). Raises TaskNotFound."""
        self.store.get(task_id)
        return self.store.deliveries.get(task_id)

    def show_json(self, task_id: int) -> dict:
        """`tasks show --json` (and GET /api/tasks/ID): the task's object with its delivery (null
        when its file is not delivered)."""
        task, delivery = self.show(task_id), self.delivery(task_id)
        return {**task.to_json(), "delivery": delivery.to_json() if delivery else None}

    def delivery_line(self, delivery: ExportUpload) -> str:
        """The delivery line of `tasks show`."""
        return delivery_wording.summary(delivery, self._deliverer().max_attempts(delivery))

    def deliver(self, task_id: int) -> ExportUpload:
        """Try a completed export task's delivery again now, in this process (heartbeat.engine.uploads);
        returns it as the attempt left it (delivered, or pending / failed with the reason)."""
        return self._deliverer().retry(task_id)

    def _deliverer(self) -> Uploader:
        return Uploader(self.config, self.store, self.clock, current_owner())

    def profile_stats(self, name: str) -> dict:
        """An export profile's pending changes (the seed's red numbers): products new to it,
        changed since it sent them, deleted since, unchanged, and those it cannot send."""
        profile = self.config.profile(name)
        if profile.kind != "export" or profile.options.get("entity", "products") != "products":
            raise Refused(f"{name} is not a products export profile; only those track what they sent")
        worker = worker_for(profile, self.config, self.store)
        try:
            counts = worker.pending(lambda ids: self.store.sent_hashes(name, ids), self.store.tracked(name),
                                    now=self.clock.now())
        finally:
            worker.close()
        return {"profile": name, **counts}

    # -- operations (for `heartbeat status`) -----------------------------------------------------------

    def notification_problems(self) -> list[dict]:
        """Notifications an operator should hear of, oldest first: given up ("failed"), failing
        (pending after a failed attempt: `last_error`, `attempts`, `next_attempt_at`), or pending
        and never attempted for 5 minutes (no sender runs). Each is
        tasks.stores.outbox.Notification.to_json():
        {"id", "task_id", "target", "event", "status", "created_at", "attempts", "last_attempt_at",
        "last_error", "next_attempt_at", "delivered_at"}."""
        return notify.problems(self.store.outbox, self.clock.now())

    def notifications(self, status: str | None = None, task_id: int | None = None,
                      limit: int = 50) -> list[dict]:
        """Notification deliveries newest first, as JSON objects (see notification_problems)."""
        return [d.to_json() for d in self.store.outbox.list(status, task_id, limit)]

    def space_warnings(self) -> list[dict]:
        """The data and export directories with less free space than `[heartbeat] min_free_mb`:
        [{"path", "free_bytes", "threshold_bytes", "message"}] (heartbeat.engine.space)."""
        return [w.to_json() for w in space.warnings(self.config)]

    # -- maintenance ----------------------------------------------------------------------------------

    def maintenance_operations(self) -> list[tuple[str, str, str]]:
        """Every maintenance operation as (scope, operation, what it does)."""
        later = " (not available yet)"
        return [(scope, op, integrity.WHAT[scope, op] + ("" if op in available(scope) else later))
                for scope, ops in integrity.OPERATIONS.items() for op in ops]

    def run_maintenance(self, connection: str, operation: str, scope: str = integrity.PRODUCTS) -> Task:
        """A new pending maintenance task on a prestashop connection, due now (no profile needed)."""
        conn = self.config.connections.get(connection)
        if conn is None or conn.type != "prestashop":
            known = ", ".join(n for n, c in self.config.connections.items() if c.type == "prestashop")
            raise Refused(f"no prestashop connection named {connection!r} (configured: {known or 'none'})")
        if operation not in integrity.OPERATIONS.get(scope, ()):
            raise Refused(f"{operation!r} is not an operation of scope {scope}; expected one of "
                          f"{', '.join(integrity.OPERATIONS.get(scope, ()))}")
        profile = self.config.profile(f"maintenance:{connection}:{scope}:{operation}")
        now = self.clock.now()
        return self.store.create(profile, "manual", now, now)

    def result(self, task_id: int) -> dict:
        """A maintenance task's JSON dictionary of patterns (reports.maintenance_result)."""
        task, profile = self._maintenance(task_id)
        worker = worker_for(profile, self.config)
        return maintenance_result.result(
            operation=worker.operation, scope=worker.scope, connection=profile.source,
            status=task.status.value, patterns=_patterns(worker.scope, worker.operation),
            findings=self.store.findings(task.id),
            kinds=(i.name for i in self.store.items(task.id) if i.status == ItemStatus.PROCESSED.value))

    def result_text(self, task_id: int) -> str:
        """`result` as the file `tasks result` writes: indented JSON and a final newline."""
        return json.dumps(self.result(task_id), indent=2, ensure_ascii=False) + "\n"

    def undo(self, task_id: int) -> int:
        """Restore every row a maintenance fix changed, as it was before, in one transaction;
        refused (nothing restored) when the task is not a finished fix, was undone already, or a
        row changed since the fix. Returns the rows restored."""
        task, profile = self._maintenance(task_id)
        if not task.status.finished:
            raise Refused(f"task {task.id} is {task.status.value}; undo it when it has finished (or kill it)")
        if not task.export_bytes:
            raise Refused(f"task {task.id} changed nothing in the shop; there is nothing to undo")
        if any(line.message.startswith(action_log.UNDONE) for line in self.store.log(task.id)):
            raise Refused(f"task {task.id} was undone already")
        changes = [integrity.Change(c["table"], c["key"], c["before"], c["after"])
                   for c in undo_file.changes(task)]
        if not changes:
            raise Refused(f"task {task.id} changed nothing in the shop; there is nothing to undo")
        worker = worker_for(profile, self.config)
        try:
            restored = worker.undo(changes)
        finally:
            worker.close()
        self.store.note(task.id, self.clock.now(), action_log.undone(restored))
        return restored

    def _maintenance(self, task_id: int):
        task = self.store.get(task_id)
        if task.kind != "maintenance":
            raise Refused(f"task {task.id} is {_a(task.kind)} task; only maintenance tasks have a result "
                          "and an undo")
        try:
            return task, self.config.profile(task.profile)
        except ProfileNotFound:
            raise Refused(f"task {task.id}'s profile {task.profile!r} is no longer configured") from None


def _patterns(scope: str, operation: str) -> tuple[str, ...]:
    return available(scope).get(operation, ())


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


# why a task has no export file, by status (it has one from its first committed batch on)
_NO_EXPORT_FILE = {
    TaskStatus.PENDING: "has no export file yet (status pending)",
    TaskStatus.RUNNING: "has no export file yet (status running)",
    TaskStatus.MISSED: "was missed and never started; it has no export file",
    TaskStatus.KILLED: "was killed before exporting anything; it has no export file",
    TaskStatus.ERROR: "ended in error before exporting anything; it has no export file",
    TaskStatus.COMPLETED: "completed with nothing to export (its source was empty); it has no export file",
}
