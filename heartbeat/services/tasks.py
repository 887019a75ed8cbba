"""The task verbs: one set for every front door (the CLI, the web page and its API).

Queue a profile's task, list and show tasks, kill, delete, prune and retry them (with their files),
and read a task's action log, CSV report and export file as streams. Each verb raises domain errors
only (core.errors: TaskNotFound, Refused, IllegalTransition, StateDatabaseError...), so a front door
turns them into its own answer (an exit code and one line; an HTTP status) without knowing more.

A verb that changes something takes the `actor` doing it (core.actor: the front door says who; the
default is the TaskManager's own, the CLI's OS user) and records it in the audit trail
(heartbeat.services.audit) once the change is made; a kill names the actor in the action log too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from connectors.prestashop import integrity
from core.actor import Actor, cli_actor
from core.clock import Clock, iso
from core.config import Config
from core.errors import ProfileNotFound, Refused
from heartbeat.config import schedule
from heartbeat.engine import history, notify, space
from heartbeat.engine.history import Removed
from heartbeat.engine.uploads import Uploader
from heartbeat.services.audit import AuditTrail
from profiles import maintenance_available as available  # loads the checks when a command asks
from profiles import worker_for
from reports import action_log, csv_report, export_file, maintenance_result, undo_file
from reports import delivery as delivery_wording
from tasks.leases import current_owner
from tasks.models import ItemRecord, Task
from tasks.states import ItemStatus, TaskStatus
from tasks.store import TaskStore
from tasks.stores.overview import Overview
from tasks.stores.uploads import ExportUpload

MAX_TIMELINE_HOURS = 24 * 31


class TaskManager:
    def __init__(self, config: Config, store: TaskStore, clock: Clock | None = None,
                 actor: Actor | None = None):
        """`actor`: who acts when a verb is given none (default: the CLI's OS user)."""
        self.config, self.store = config, store
        self.clock = clock or Clock()
        self.actor = actor or cli_actor()
        self.audit = AuditTrail(store.audit, self.clock)

    # -- queueing -------------------------------------------------------------------------------------

    def queue(self, profile_name: str, *, full: bool = False, dry_run: bool = False,
              force: bool = False, actor: Actor | None = None) -> Task:
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
        task = self.store.create_once(profile, "manual", self.clock.now(), options=options or None)
        self._record(actor, "profile.run", f"profile:{profile.name}",
                     f"task {task.id}" + "".join(f" --{o.replace('_', '-')}" for o in sorted(options)))
        return task

    def profiles(self) -> list[dict]:
        """Every configured profile with its next run, its last task and whether it is paused
        (`profiles list --json`; a paused profile has no next run)."""
        rows, recorded, now = [], self.store.next_slots(), self.clock.now()
        paused = self.store.pauses.paused()
        for p in self.config.profiles:
            next_run = None
            if p.schedule and p.enabled and p.name not in paused:
                # the slot the daemon recorded (due at the next tick if past), else the schedule's next
                next_run = iso(recorded.get(p.name) or schedule.first_slot(schedule.of_profile(p), now))
            last = self.store.last_task(p.name)
            rows.append({"name": p.name, "kind": p.kind, "source": p.source, "target": p.target,
                         "schedule": p.schedule, "enabled": p.enabled, "next_run": next_run,
                         "batch_size": p.batch_size, "last_task": last.id if last else None,
                         "last_status": last.status.value if last else None, "paused": p.name in paused,
                         "paused_at": iso(paused[p.name][0]) if p.name in paused else None})
        return rows

    def profile(self, name: str) -> dict:
        """One profile's `profiles list --json` object. Raises ProfileNotFound."""
        self._configured(name)
        return next(row for row in self.profiles() if row["name"] == name)

    def next_runs(self, name: str, count: int = 5) -> list[str]:
        """The profile's next `count` schedule slots (ISO 8601 UTC), from the one the daemon recorded;
        [] for a profile run by hand only, disabled or paused."""
        return self.upcoming(self.profile(name), count)

    def upcoming(self, row: dict, count: int = 5) -> list[str]:
        """`next_runs` of a `profiles()` row (no query)."""
        if row["next_run"] is None:
            return []
        profile = self.config.profile(row["name"])
        start = datetime.fromisoformat(row["next_run"].replace("Z", "+00:00"))
        return [iso(slot) for slot in schedule.upcoming(schedule.of_profile(profile), start, count)]

    def pause(self, name: str, actor: Actor | None = None) -> dict:
        """Pause a profile: no schedule slots from now on (none missed either); its running and
        pending tasks go on and Run now still works. Refused when it is paused already. Returns its
        `profiles list --json` object."""
        self._configured(name)
        actor = actor or self.actor
        if not self.store.pauses.pause(name, self.clock.now(), f"{actor.name} ({actor.via})"):
            raise Refused(f"profile {name} is paused already")
        self._record(actor, "profile.pause", f"profile:{name}")
        return self.profile(name)

    def resume(self, name: str, actor: Actor | None = None) -> dict:
        """Resume a paused profile: its schedule goes on from its next slot after now. Refused when
        it is not paused."""
        self._configured(name)
        if not self.store.pauses.resume(name, self.clock.now()):
            raise Refused(f"profile {name} is not paused")
        self._record(actor, "profile.resume", f"profile:{name}")
        return self.profile(name)

    def _configured(self, name: str) -> None:
        if not any(p.name == name for p in self.config.profiles):
            raise ProfileNotFound(name, [p.name for p in self.config.profiles])

    # -- the task manager ---------------------------------------------------------------------------

    def list(self, status: str | None = None, profile: str | None = None, limit: int | None = 50,
             kind: str | None = None, before: int | None = None) -> list[Task]:
        """Tasks newest first; `before` an id: the page after the one that ended with it."""
        return self.store.list(status=status, profile=profile, limit=limit, kind=kind, before=before)

    def show(self, task_id: int) -> Task:
        return self.store.get(task_id)

    def kill(self, task_id: int, actor: Actor | None = None) -> Task:
        """pending|running -> killed; its pending items become cancelled. The log says by whom."""
        actor = actor or self.actor
        task = self.store.kill(task_id, self.clock.now(), f"killed by {actor}")
        self._record(actor, "task.kill", f"task:{task.id}",
                     f"{task.progress.cancelled} pending items cancelled")
        return task

    def delete(self, task_id: int, actor: Actor | None = None) -> Removed:
        """The task with its items, action log and export file (killed first if still active)."""
        actor = actor or self.actor
        removed = history.delete(self.store, task_id, self.clock.now(), f"killed by {actor} before deletion")
        task = removed.tasks[0]
        self._record(actor, "task.delete", f"task:{task_id}", f"{task.profile}, {task.status.value}")
        return removed

    def retry(self, task_id: int, actor: Actor | None = None) -> Task:
        """A new task of the same profile, due now, with only the error items of finished task
        `task_id`: an import's feed rows as they were then (their stored payloads; no feed is read,
        no suspicious-feed guard nor unchanged-feed check), an export's products read from the
        shop now (sent whatever the change tracking says), a maintenance task's same records.
        Refused when it has none or its profile is no longer configured. The new task's
        `retry_of` and the first line of its log name the original."""
        original = self.store.get(task_id)
        try:
            profile = self.config.profile(original.profile)
        except ProfileNotFound:
            raise Refused(f"task {task_id}'s profile {original.profile!r} is no longer configured; "
                          "there is nothing to retry it with") from None
        options = {k: v for k, v in original.options.items() if k == "dry_run"}
        if original.kind == "export":
            options["full"] = True
        task = self.store.create_retry(task_id, profile, self.clock.now(), options or None,
                                       note=action_log.retry_of(task_id, original.progress.error))
        self._record(actor, "task.retry", f"task:{task_id}",
                     f"task {task.id}: {action_log.plural(original.progress.error, 'error item')}")
        return task

    def prune(self, older_than: timedelta, statuses: Iterable[str] | None = None,
              now: datetime | None = None, actor: Actor | None = None) -> Removed:
        """Delete the tasks that finished longer than `older_than` before `now` (optionally only
        some finished statuses), with their items, logs and export files."""
        if statuses:
            active = [s for s in statuses if not TaskStatus(s).finished]
            if active:
                raise Refused(f"only finished tasks are pruned, not {', '.join(active)} ones")
        removed = history.prune(self.store, older_than, now or self.clock.now(), statuses)
        if removed.tasks:
            self._record(actor, "task.prune", f"tasks:{len(removed.tasks)}",
                         f"older than {_age(older_than)}" + (f", {', '.join(statuses)}" if statuses else ""))
        return removed

    def _record(self, actor: Actor | None, action: str, target: str, detail: str | None = None) -> None:
        self.audit.record(actor or self.actor, action, target, detail)

    def timeline(self, hours: int = 24) -> list[dict]:
        """The last `hours` per profile (GET /api/timeline, the tasks page's bars): every configured
        profile, then any other with tasks in the window, each with the tasks that ran in it,
        oldest first: [{"profile", "tasks": [{"id", "status", "started_at", "finished_at",
        "progress"}]}]. A running task has finished_at null."""
        if not 1 <= hours <= MAX_TIMELINE_HOURS:
            raise Refused(f"hours: expected 1 to {MAX_TIMELINE_HOURS}, got {hours}")
        lanes: dict[str, list[dict]] = {p.name: [] for p in self.config.profiles}
        for task in Overview(self.store.engine).timeline(self.clock.now() - timedelta(hours=hours)):
            lanes.setdefault(task.profile, []).append({
                "id": task.id, "status": task.status.value, "started_at": iso(task.started_at),
                "finished_at": iso(task.finished_at), "progress": task.progress.as_dict()})
        return [{"profile": name, "tasks": tasks} for name, tasks in lanes.items()]

    # -- a task's files, as streams ------------------------------------------------------------------

    def log(self, task_id: int) -> Iterator[str]:
        """The action log, a line of text at a time."""
        return (action_log.render(line) for line in self.store.log(task_id))

    def log_tail(self, task_id: int, lines: int = 30) -> list[str]:
        """The action log's last `lines` lines, rendered as `log` renders them."""
        return [action_log.render(line) for line in self.store.log(task_id)[-lines:]]

    def report(self, task_id: int) -> Iterator[str]:
        """The CSV report, a line at a time, in constant memory. A retry's details start with
        "retry of task N:" (the original's report has the earlier outcome)."""
        task = self.store.get(task_id)
        items = self.store.items(task_id)
        if task.retry_of:
            items = csv_report.noted(items, f"retry of task {task.retry_of}")
        return csv_report.lines(items)

    def find_in_report(self, task_id: int, text: str, limit: int = 20) -> list[ItemRecord]:
        """The report's rows of a product, found by its reference or its product id: as given
        first (a maintenance example names a reference with its stray spaces), else stripped."""
        return (text != text.strip() and self.store.find_items(task_id, text, limit)) or \
            self.store.find_items(task_id, text.strip(), limit)

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

    def deliver(self, task_id: int, actor: Actor | None = None) -> ExportUpload:
        """Try a completed export task's delivery again now, in this process (heartbeat.engine.uploads);
        returns it as the attempt left it (delivered, or pending / failed with the reason)."""
        done = self._deliverer().retry(task_id)
        self._record(actor, "task.deliver", f"task:{task_id}", done.status.value)
        return done

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
            sent = self.store.sent
            counts = worker.pending(lambda ids: sent.sent_hashes(name, ids), sent.tracked(name),
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

    def run_maintenance(self, connection: str, operation: str, scope: str = integrity.PRODUCTS,
                        actor: Actor | None = None) -> Task:
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
        task = self.store.create(profile, "manual", now, now)
        self._record(actor, "maintenance.run", f"connection:{connection}",
                     f"task {task.id}: {scope} {operation}")
        return task

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

    def undo(self, task_id: int, actor: Actor | None = None) -> int:
        """Restore every row a maintenance fix changed, as it was before, in one transaction;
        refused (nothing restored) when the task is not a finished fix, was undone already, or a
        row changed since the fix. Returns the rows restored."""
        task, profile, changes = self._undoable(task_id)
        worker = worker_for(profile, self.config)
        try:
            restored = worker.undo(changes)
        finally:
            worker.close()
        self.store.note(task.id, self.clock.now(), action_log.undone(restored))
        self._record(actor, "task.undo", f"task:{task.id}", action_log.plural(restored, "row") + " restored")
        return restored

    def undo_preview(self, task_id: int) -> list[dict]:
        """What `undo` would restore, refused exactly as `undo` would be: [{"table", "key",
        "before", "after"}] in the order the fix made them (the confirmation lists them)."""
        return [{"table": c.table, "key": c.key, "before": c.before, "after": c.after}
                for c in self._undoable(task_id)[2]]

    def _undoable(self, task_id: int):
        """(task, profile, changes) of a finished fix that can be undone; else Refused, saying why."""
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
        return task, profile, changes

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


def _age(age: timedelta) -> str:
    """30d, 12h or 90m, as `tasks prune --older-than` takes it."""
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


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
