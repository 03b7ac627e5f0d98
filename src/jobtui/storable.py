"""Values made storable before they are queued: text without NULs or lone surrogates, counts in range,
JSON that every backend takes back (issue 14, item 1). Pure functions, stdlib only.

A value one backend refuses (PostgreSQL: a NUL in text; SQLite: an integer past 64 bits; both: a
lone surrogate) must never reach a group commit, where it would fail the writes of every job that
shares the commit. Text is escaped, counts are clamped; a JSON state that cannot be stored faithfully
(NaN, infinity, nesting too deep) is refused with an error its caller reports.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_COUNT = 2**63 - 1
"""The largest whole number a database column holds (a signed 64-bit integer)."""
MAX_JSON_DEPTH = 64
"""How deep a checkpoint state may nest (lists and objects)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str)
"""The store's encoding (store/records.py: what is not JSON is stored as its str()), but refusing NaN and infinities."""


class UnstorableError(ValueError):
    """A value that no backend would store faithfully (NaN, infinity, too deep, not JSON)."""


def text(value: str) -> str:
    """Return `value` fit for a text column: NUL written as the visible escape `\\x00`, lone surrogates as U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if not value.isascii() and _SURROGATE.search(value) is not None:
        value = _SURROGATE.sub("\ufffd", value)
    return value


def opt_text(value: str | None) -> str | None:
    """Return `text(value)`, or None for None."""
    return None if value is None else text(value)


def count(value: int) -> int:
    """Return a count clamped to what a database column holds: 0 to MAX_COUNT."""
    return 0 if value < 0 else MAX_COUNT if value > MAX_COUNT else value


def depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Return how deep lists and dicts nest in `value`, counting no further than `limit` + 1 (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            if d > limit:
                return d
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def check_json(value: Any) -> None:
    """Refuse a value that JSON cannot carry faithfully to every backend.

    Raises:
        UnstorableError: it holds NaN or an infinity, nests deeper than MAX_JSON_DEPTH, or refers to itself.
    """
    if depth(value) > MAX_JSON_DEPTH:
        raise UnstorableError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        _JSON.encode(value)
    except ValueError as e:  # NaN, Infinity, a circular reference
        raise UnstorableError(str(e)) from None
    except RecursionError:  # pragma: no cover - depth() refuses it first
        raise UnstorableError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None


__all__ = ["MAX_COUNT", "MAX_JSON_DEPTH", "UnstorableError", "check_json", "count", "depth", "opt_text",
           "text"]
