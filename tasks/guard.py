"""The store's boundary for errors: above it, a state database error is StateDatabaseError, never
a driver's or SQLAlchemy's own exception.

A caller's function run inside a verb (planning, the work on a batch, building a queue) may raise
SQLAlchemy errors of its own (a shop database): `callers` marks them so they pass through as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

from core.errors import StateDatabaseError

T = TypeVar("T")


def guarded(verb):
    """Verbs raise StateDatabaseError, never the driver's own errors. An error raised by a caller's
    function run inside a verb (planning, the work on a batch) is the caller's: it passes through
    as it is. Also for the store's methods a caller's function may call (Planning, Batch), so that
    their errors are the state database's even when they happen inside the caller's function."""

    @functools.wraps(verb)
    def guarded(*args, **kwargs):
        with _translating():
            return verb(*args, **kwargs)

    return guarded


def guarded_iter(rows: Iterator[T]) -> Iterator[T]:
    with _translating():
        yield from rows


def callers(fn: Callable[..., T], *args) -> T:
    """Run a caller's function inside a verb, marking what it raises as its own (see guarded)."""
    with _theirs():
        return fn(*args)


def callers_iter(entries: Iterable[T]) -> Iterator[T]:
    """A caller's iterable consumed inside a verb: what it raises is its own (see guarded)."""
    with _theirs():
        yield from entries


@contextmanager
def _translating() -> Iterator[None]:
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        if getattr(exc, "heartbeat_caller", False):
            raise
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] or type(exc).__name__
        raise StateDatabaseError(reason) from exc


@contextmanager
def _theirs() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        exc.heartbeat_caller = True
        raise
