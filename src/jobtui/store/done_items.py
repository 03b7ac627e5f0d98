"""Items done at their first attempt, queued in bulk: a loop adds (key, result) per item, the rows are made per commit.

The serial items loop (engine/items.py) adds each item that succeeded at its first attempt to its `DoneItems`;
the store queues the list once per group commit (`CheckpointWrites.items_done`), and the commit that takes the
batch makes the item rows of everything added so far, with one clock read, and empties the list. The result is
encoded when added, so an unencodable result fails its item's loop, as `item_finished` does.

On SQLite the rows go in statements of up to CHUNKS[0] rows that bind the job, stage and stamp once and each
row's key and result (`Dialect.done_items_sql`): a few steps of SQLite per commit, each one a time aiosqlite's
thread takes Python's lock back from a busy event loop. Elsewhere they are `item_sql` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import JobId
from ..storable import text
from .dialect import Dialect
from .encoding import dumps

CHUNKS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
"""Rows per statement, largest first: a commit's rows are cut into as few statements as these sizes allow, and only
these few statement texts are ever compiled."""

Statements = list[tuple[str, list[Sequence[Any]]]]
"""(SQL, rows of parameters) to run in order."""


class DoneItems:
    """The keys and result JSON of the items a loop finished since the last group commit took its batch."""

    __slots__ = ("_keys", "_results")

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._results: list[str | None] = []

    def add(self, key: str, result: Any) -> None:
        """Queue an item done at its first attempt, with its result (encoded now; raises if it cannot be)."""
        encoded = None if result is None else dumps(result)
        self._keys.append(key)
        self._results.append(encoded)

    def __len__(self) -> int:
        return len(self._keys)

    def statements(self, dialect: Dialect, job_id: JobId, index: int, now: int) -> Statements:
        """Return the statements that write what was added (status done, first attempt, stamped `now`); forget it."""
        keys, results = self._keys, self._results
        self._keys, self._results = [], []
        if not keys:
            return []
        joined = "".join(keys)
        if not joined.isascii() or "\x00" in joined:
            keys = [k if k.isascii() and "\x00" not in k else text(k) for k in keys]
        if not dialect.done_items_bound:
            return [(dialect.item_sql, [(job_id, index, k, "done", r, None, 1, now)
                                        for k, r in zip(keys, results, strict=True)])]
        flat: list[Any] = [None] * (2 * len(keys))
        flat[0::2] = keys
        flat[1::2] = results
        out: Statements = []
        start = 0
        for size in CHUNKS:
            rows: list[Sequence[Any]] = []
            while len(keys) - start >= size:
                rows.append([job_id, index, now, *flat[2 * start:2 * (start + size)]])
                start += size
            if rows:
                out.append((dialect.done_items_sql(size), rows))
        return out
