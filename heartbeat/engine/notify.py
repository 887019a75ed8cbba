"""Notifications: the outbox's deliveries (tasks.stores.outbox) sent to the [[notify]] entries.

A webhook gets `{"event": "task.<status>", "task": <the task's --json object>}` POSTed as JSON
(plus "link", the task's page, when `[web] url` is set), with the delivery id in the
X-Heartbeat-Delivery header and the entry's secret, if any, in its secret header; an e-mail entry
gets the same as a message over SMTP. A 2xx answer (an accepted message) is a delivery.

Sending never stands in a batch's way: `heartbeat run` sends from a thread of its own
(`SenderThread`), `heartbeat tick` after its heartbeats, for a bounded time. An attempt takes at
most the entry's `timeout`; a failed one is retried after 30 s, 1 min, 2 min... (at most hourly)
and given up after a day (status failed). Failures are logged (`notify.failed`) and listed by
`TaskManager.notification_problems`. Delivery is at least once (tasks.stores.outbox says why): receivers
drop a repeated X-Heartbeat-Delivery. Secrets never reach a log line or a message.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

import structlog

from core.clock import Clock
from core.config import Config, Notify
from core.errors import StateDatabaseError
from heartbeat import __version__
from heartbeat.engine.sacrificial import FORK_GUARD
from tasks.stores.outbox import Notification, Outbox

log = structlog.get_logger("heartbeat")
RETRY_FIRST = 30.0  # seconds after a delivery's first failed attempt; doubled after each one
RETRY_MAX = 3600.0  # seconds between two attempts, at most
GIVE_UP_AFTER = timedelta(days=1)  # a delivery still failing this long after its event is given up
LATE = timedelta(minutes=5)  # a pending delivery due this long ago and never attempted: no sender runs
SEND_EVERY = 2.0  # seconds between two looks at the outbox, in `heartbeat run`
TICK_BUDGET = 10.0  # seconds `heartbeat tick` spends sending, at most (plus the attempt in progress)


class DeliveryFailed(Exception):
    """An attempt failed; the message says why in one line (never a secret)."""


def payload(delivery: Notification, web_url: str | None) -> dict:
    """What a receiver gets: the event, the task as it was then, and a link to its page."""
    data = {"event": delivery.event, "task": delivery.task}
    if web_url:
        data["link"] = f"{web_url.rstrip('/')}/tasks/{delivery.task_id}"
    return data


def post(entry: Notify, delivery: Notification, data: dict) -> None:
    """POST the payload to a webhook; raises DeliveryFailed unless it answers 2xx."""
    headers = {"Content-Type": "application/json", "User-Agent": f"heartbeat/{__version__}",
               "X-Heartbeat-Event": delivery.event, "X-Heartbeat-Delivery": str(delivery.id)}
    if entry.secret:
        headers[entry.secret_header] = entry.secret
    body = json.dumps(data, ensure_ascii=False).encode()
    request = urllib.request.Request(entry.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=entry.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:  # not 2xx (redirects of a POST are not followed)
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"cannot reach the webhook: {_why(exc.reason)}") from None
    except (OSError, ValueError) as exc:  # a timeout while reading, a connection reset
        raise DeliveryFailed(f"webhook: {_why(exc)}") from None


def message(entry: Notify, delivery: Notification, data: dict) -> EmailMessage:
    """The e-mail of a delivery: a subject and a few lines a person reads, then the payload."""
    task, host = delivery.task, socket.gethostname()
    msg = EmailMessage()
    status = delivery.event.removeprefix("task.")
    subject = f"heartbeat: task {task['id']} ({task['profile']}) {status}"
    if task.get("message"):
        subject += f": {task['message']}"
    msg["Subject"] = " ".join(subject.split())[:200]
    msg["From"] = entry.smtp_from or f"heartbeat@{host}"
    msg["To"] = ", ".join(entry.email)
    msg["Date"] = formatdate(localtime=False)
    # the same id on every attempt: mail systems drop a repeat the way webhook receivers do
    msg["Message-ID"] = f"<heartbeat.delivery.{delivery.id}.{delivery.created_at:%Y%m%d%H%M%S}@{host}>"
    msg["X-Heartbeat-Delivery"] = str(delivery.id)
    msg["X-Heartbeat-Event"] = delivery.event
    p = task.get("progress", {})
    lines = [f"Task {task['id']} of profile {task['profile']} ({task['kind']}) is {status}.", "",
             f"Message:  {task.get('message') or '-'}",
             f"Started:  {task.get('started_at') or '-'}", f"Finished: {task.get('finished_at') or '-'}",
             "Progress: " + ", ".join(f"{k} {v}" for k, v in p.items())]
    if "link" in data:
        lines += ["", data["link"]]
    lines += ["", json.dumps(data, indent=2, ensure_ascii=False)]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def mail(entry: Notify, delivery: Notification, data: dict) -> None:
    """Send the delivery's e-mail; raises DeliveryFailed unless the server accepts it for every
    recipient."""
    msg = message(entry, delivery, data)
    try:
        if entry.smtp_tls == "ssl":
            smtp = smtplib.SMTP_SSL(entry.smtp_host, entry.smtp_port, timeout=entry.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(entry.smtp_host, entry.smtp_port, timeout=entry.timeout)
        with smtp:
            if entry.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if entry.smtp_user:
                smtp.login(entry.smtp_user, entry.smtp_password or "")
            refused = smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        why = f"{exc.smtp_code} {_why(exc.smtp_error)}"
        raise DeliveryFailed(f"SMTP server {entry.smtp_host}: {why}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP server {entry.smtp_host}:{entry.smtp_port}: {_why(exc)}") from None
    if refused:
        raise DeliveryFailed(f"SMTP server {entry.smtp_host} refused {', '.join(sorted(refused))}")


def _why(reason: object) -> str:
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    text = str(reason).strip().splitlines()
    return text[0] if text else type(reason).__name__


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 30, 60, 120... at most 3600."""
    return min(RETRY_FIRST * 2 ** (attempts - 1), RETRY_MAX)


@dataclass
class Sent:
    delivered: int = 0
    failed: int = 0


TRANSPORTS: dict[str, Callable[[Notify, Notification, dict], None]] = {"webhook": post, "email": mail}


class Sender:
    """Sends due deliveries, one attempt at a time, each by its entry's kind (TRANSPORTS)."""

    def __init__(self, config: Config, outbox: Outbox, clock: Clock | None = None):
        self.config, self.outbox = config, outbox
        self.clock = clock or Clock()
        self.entries = {n.name: n for n in config.notify}

    def send_due(self, deadline: float | None = None, stop: threading.Event | None = None) -> Sent:
        """Attempt every due delivery, oldest first, until none is left, the clock's monotonic
        time passes `deadline`, or `stop` is set."""
        sent = Sent()
        while True:
            with FORK_GUARD:
                due = self.outbox.due(self.clock.now())
            if not due:
                return sent
            for delivery in due:
                if self._enough(deadline, stop):
                    return sent
                ok = self.attempt(delivery)
                if ok is not None:
                    sent.delivered += ok
                    sent.failed += not ok

    def _enough(self, deadline: float | None, stop: threading.Event | None) -> bool:
        return (stop is not None and stop.is_set()) or (deadline is not None
                                                        and self.clock.monotonic() >= deadline)

    def attempt(self, delivery: Notification) -> bool | None:
        """One attempt at a due delivery: True delivered, False failed, None when another sender
        took it first."""
        entry = self.entries.get(delivery.target)
        now = self.clock.now()
        with FORK_GUARD:
            if entry is None:
                why = f"no [[notify]] entry named {delivery.target!r} in the config any more"
                self.outbox.failed(delivery.id, why, None)
                log.warning("notify.failed", delivery=delivery.id, target=delivery.target, reason=why)
                return False
            taken = self.outbox.take(delivery.id, now, now + timedelta(seconds=entry.timeout + 60))
        if taken is None:
            return None
        try:
            TRANSPORTS[entry.kind](entry, taken, payload(taken, self.config.web.url))
        except DeliveryFailed as exc:
            self._failed(taken, str(exc))
            return False
        except Exception as exc:  # a case no transport foresaw: a failed attempt all the same
            self._failed(taken, f"{type(exc).__name__}: {_why(exc)}")
            return False
        with FORK_GUARD:
            self.outbox.delivered(taken.id, self.clock.now())
            log.info("notify.delivered", delivery=taken.id, target=taken.target, about=taken.event,
                     task_id=taken.task_id, attempts=taken.attempts)
        return True

    def _failed(self, delivery: Notification, reason: str) -> None:
        now = self.clock.now()
        give_up = now - delivery.created_at >= GIVE_UP_AFTER
        delay = retry_delay(delivery.attempts)
        with FORK_GUARD:
            self.outbox.failed(delivery.id, reason, None if give_up else now + timedelta(seconds=delay))
            log.warning("notify.failed", delivery=delivery.id, target=delivery.target, about=delivery.event,
                        task_id=delivery.task_id, attempts=delivery.attempts, reason=reason,
                        **({"gave_up": True} if give_up else {"retry_in": delay}))


class SenderThread(threading.Thread):
    """`heartbeat run`'s sender: looks at the outbox every SEND_EVERY seconds until `stop`; an
    error (the state database away) is logged and the next look tries again."""

    def __init__(self, sender: Sender, stop: threading.Event, every: float = SEND_EVERY):
        super().__init__(name="heartbeat-notify", daemon=True)
        self.sender, self.stop, self.every = sender, stop, every

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.sender.send_due(stop=self.stop)
            except Exception as exc:  # the thread must outlive any one failure
                with FORK_GUARD:
                    log.error("notify.sender_failed", error=type(exc).__name__, reason=_why(exc))
            self.stop.wait(self.every)


def start_sender(config: Config, outbox: Outbox, stop: threading.Event) -> SenderThread | None:
    """The daemon's sender thread, started; None when no [[notify]] entry is configured."""
    if not config.notify:
        return None
    thread = SenderThread(Sender(config, outbox), stop)
    thread.start()
    return thread


def send_for_tick(config: Config, outbox: Outbox, stop: threading.Event | None = None,
                  clock: Clock | None = None) -> Sent:
    """`heartbeat tick`'s sending, after its heartbeats: for TICK_BUDGET seconds at most, until
    `stop`. The state database away is logged, not raised: the next tick sends."""
    if not config.notify:
        return Sent()
    sender = Sender(config, outbox, clock)
    try:
        return sender.send_due(deadline=sender.clock.monotonic() + TICK_BUDGET, stop=stop)
    except StateDatabaseError as exc:
        log.error("notify.sender_failed", error=type(exc).__name__, reason=exc.reason)
        return Sent()


def problems(outbox: Outbox, now: datetime) -> list[dict]:
    """Deliveries an operator should hear of (Outbox.problems), as JSON objects."""
    return [d.to_json() for d in outbox.problems(now - LATE)]
