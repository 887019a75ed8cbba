"""The store's boundary for errors: above it, a state database error is StateDatabaseError, never
a driver's or SQLAlchemy's own exception.

A caller's function run inside a verb (planning, the work on a batch, building a queue) may raise
SQLAlchemy errors of its own (a shop database): `callers` marks them so they pass through as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import sqlalchemy as sa

from core.errors import StateDatabaseError

T = TypeVar("T")


def guarded(verb):
    """Public verbs raise StateDatabaseError, never the driver's own errors. An error raised by a
    caller's function run inside a verb (planning, the work on a batch) is the caller's: it passes
    through as it is."""

    @functools.wraps(verb)
    def guarded(self, *args, **kwargs):
        try:
            return verb(self, *args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            raise _translated(exc) from exc

    return guarded


def guarded_iter(rows: Iterator[T]) -> Iterator[T]:
    try:
        yield from rows
    except sa.exc.SQLAlchemyError as exc:
        raise _translated(exc) from exc


def _translated(exc: sa.exc.SQLAlchemyError) -> Exception:
    if getattr(exc, "heartbeat_caller", False):
        return exc
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] or type(exc).__name__
    return StateDatabaseError(reason)


def callers(fn: Callable[..., T], *args) -> T:
    """Run a caller's function inside a verb, marking what it raises as its own (see guarded)."""
    try:
        return fn(*args)
    except Exception as exc:
        exc.heartbeat_caller = True
        raise


def callers_iter(entries: Iterable[T]) -> Iterator[T]:
    """A caller's iterable consumed inside a verb: what it raises is its own (see guarded)."""
    try:
        yield from entries
    except Exception as exc:
        exc.heartbeat_caller = True
        raise
