"""Unique constraints lost to a concurrent transaction: the losing unit runs again, and its own checks word the answer.

On PostgreSQL (READ COMMITTED, no global lock) two transactions can both check that a unique key is
free, and both insert: the unique index makes the second wait for the first and then fail. That
failure is the database's ("duplicate key value violates unique constraint ..."), not an answer for a
person; and a submit with an idempotency key that lost must return the winner's job, not fail. So a
unit that inserts under a unique constraint runs again once it lost one: the rolled-back attempt
stored nothing, and the new attempt's checks, which read what committed, now see the winner (the
one-line refusal "unique key 'k' already has active job N", or the job the key already made).
SQLite never gets here (one writer at a time: every check sees every commit before it).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import StoreError, UsageError

log = logging.getLogger("jobtui.store.clash")

T = TypeVar("T")

ATTEMPTS = 3
"""Runs of a unit at most: a clash twice in a row needs two other writers winning the same key in turn."""


def unique_violation(exc: BaseException | None) -> bool:
    """Tell whether a store error was caused by a unique constraint (PostgreSQL 23505, SQLite's UNIQUE failed)."""
    seen = 0
    while exc is not None and seen < 4:
        if getattr(exc, "sqlstate", None) == "23505":
            return True
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc):
            return True
        exc = exc.__cause__
        seen += 1
    return False


async def retried_on_clash(unit: Callable[[], Awaitable[T]], what: str) -> T:
    """Run a transaction `unit`; when a concurrent one won a unique constraint it needed, run it again.

    Raises:
        UsageError: it lost `ATTEMPTS` times in a row (the writers keep changing that key).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await unit()
        except StoreError as e:
            if not unique_violation(e):
                raise
            if attempt == ATTEMPTS:
                raise UsageError(f"{what}: another request took the same unique key at the same moment; try again") from e
            log.debug("%s lost a unique-key race (%s); running it again", what, e)
    raise AssertionError("unreachable")  # pragma: no cover
