"""One exception hierarchy with a single root.

Each subclass builds its own message from its arguments, so callers raise `TaskNotFound(7)` and the
CLI prints "task 7 not found". `exit_code` is what the CLI exits with (SPEC: 1 refused or not found,
2 usage or configuration error).
"""


class HeartbeatError(Exception):
    exit_code = 1


class ConfigError(HeartbeatError):
    """A configuration mistake: names the file, the key and the reason."""

    exit_code = 2

    def __init__(self, path, key: str | None, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {reason}")


MAX_ID = 2 ** 31 - 1  # the largest id a row can have (MariaDB's INT): a larger one names no task


class TaskNotFound(HeartbeatError):
    def __init__(self, task_id: int):
        self.task_id = task_id
        super().__init__(f"task {task_id} not found")


class ProfileNotFound(HeartbeatError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        listed = ", ".join(known) if known else "none configured"
        super().__init__(f"profile {name!r} not found; known profiles: {listed}")


class IllegalTransition(HeartbeatError):
    """A status change the state machine does not allow."""

    def __init__(self, what: str, current: str, wanted: str, hint: str = ""):
        self.current, self.wanted = current, wanted
        super().__init__(f"{what} is {current}; " + (hint or f"it cannot become {wanted}"))


class Refused(HeartbeatError):
    """A request that cannot be honoured for a reason stated in full by the caller."""


class AlreadyPending(Refused):
    """The same manual run (same profile, same options) is already queued and waiting: five clicks
    on Run now queue one task, not five."""

    def __init__(self, task_id: int, profile: str):
        self.task_id, self.profile = task_id, profile
        super().__init__(f"the same run of profile {profile} is already pending as task {task_id}; it "
                         f"starts when the profile is free (kill task {task_id} to queue another)")


class MustWait(HeartbeatError):
    """Raised while a task is being started: it cannot start yet (its profile's task, or a fix on
    its connection, is running). A task a person queued stays pending with this message and is
    tried again at the next heartbeat; a schedule slot is missed instead."""


class FatalTaskError(HeartbeatError):
    """A task cannot start or continue: connection refused, missing feed, empty source..."""


class SourceUnchanged(HeartbeatError):
    """Raised while a task's queue is built: the source is identical to the one the profile's last
    completed task used, so the task completes at once, with this message, and nothing to do."""


class ConnectorError(FatalTaskError):
    """A connection could not be opened or read; the message never contains a password."""


class Outage(HeartbeatError):
    """Something a running task needs is unavailable for now (a shop, disk space): the task keeps
    its place and the batch is retried with a back-off (heartbeat.engine.runner), never ended."""


class ConnectorUnavailable(ConnectorError, Outage):
    """The other side is unreachable for now (connection lost, server restarting, lock timeout):
    a running task keeps its place and the batch is retried later, unlike other ConnectorErrors
    (a missing column, a refused grant), which would fail again and so end the task."""


class DiskFull(Outage):
    """A file could not be written for want of space (ENOSPC, EDQUOT): an outage, not a verdict.
    Names the file, the bytes it needed and the bytes free where it lives (None: unknown)."""

    PREFIX = "no space left on device: "

    def __init__(self, path, needed: int | None, free: int | None):
        self.path, self.needed, self.free = str(path), needed, free
        need = f" needs {needed:,} bytes" if needed is not None else ""
        left = f", {free:,} bytes free there" if free is not None else ""
        super().__init__(f"{self.PREFIX}{self.path}{need}{left}")


class AlreadyRunning(HeartbeatError):
    """Another daemon already holds this SQLite state database."""


class StateDatabaseError(HeartbeatError):
    """The state database refused or could not be reached; raised by the task store (and the schema
    upgrade) in place of the driver's own errors, so nothing above the store sees SQLAlchemy."""

    def __init__(self, reason: str, where: str | None = None):
        self.reason = reason
        super().__init__(f"state database {where + ': ' if where else 'error: '}{reason}")


class UserNotFound(HeartbeatError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"user {name!r} not found; see `heartbeat web user list`")


class Forbidden(HeartbeatError):
    """An actor whose role does not allow the action (403 over HTTP); the message says which role it needs."""


def first_line(exc: BaseException) -> str:
    """The first line of an error, for a log line or a task's message (an OSError names its file)."""
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot write {exc.filename}: {exc.strerror}"
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
