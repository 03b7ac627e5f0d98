"""Items done at their first attempt, queued in bulk: a loop adds (key, result) per item, the rows are made per commit.

The serial items loop (engine/items.py) adds each item that succeeded at its first attempt to its `DoneItems`;
the store queues the list once per group commit (`CheckpointWrites.items_done`), and the commit that takes the
batch makes the item rows of everything added so far, with one clock read, and empties the list. The result is
encoded when added, so an unencodable result fails its item's loop, as `item_finished` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import JobId
from ..storable import text
from .encoding import dumps


class DoneItems:
    """The (key, result JSON) of the items a loop finished since the last group commit took its batch."""

    __slots__ = ("_queued",)

    def __init__(self) -> None:
        self._queued: list[tuple[str, str | None]] = []

    def add(self, key: str, result: Any) -> None:
        """Queue an item done at its first attempt, with its result (encoded now; raises if it cannot be)."""
        self._queued.append((key, None if result is None else dumps(result)))

    def __len__(self) -> int:
        return len(self._queued)

    def rows(self, job_id: JobId, index: int, now: int) -> list[Sequence[Any]]:
        """Return the item rows of what was added (status done, first attempt, stamped `now`) and forget it."""
        queued, self._queued = self._queued, []
        return [(job_id, index, k if k.isascii() and "\x00" not in k else text(k), "done", r, None, 1, now)
                for k, r in queued]
