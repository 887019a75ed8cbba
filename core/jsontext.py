"""JSON text for what Heartbeat keeps in its state database: an import's queued feed rows and a
batch's saved plan. These are written once per row and read once per row and batch, so they go
through orjson (several times faster than the standard module), and through `json` where orjson
refuses a value (a lone surrogate, an integer beyond 64 bits): every value is stored, or refused,
exactly as before. Text written by either reads back with either: both write standard JSON (orjson
without the spaces after `,` and `:`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """`value` as compact JSON text; `default` turns what JSON lacks (a Decimal...) into what it has,
    and raises TypeError for what it refuses. A tuple, named or not, is an array (as in `json`)."""
    try:
        return orjson.dumps(value, default=_arrays(default)).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError: let `json` write it or refuse it
        if default is None:
            return _STANDARD.encode(value)
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=default).encode(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON `text` (written by `dumps`, or by `json` in an older version)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # a lone surrogate, which orjson does not take: `json` does
        return json.loads(text)


def _arrays(default: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """orjson's `default`: a tuple subclass (a NamedTuple: Outcome, Effect) as a list, as `json`
    writes it; anything else to `default`."""
    def convert(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        if default is None:
            raise TypeError(f"{type(value).__name__} is not JSON")
        return default(value)
    return convert
