"""How big the long tests run: sized down by default (CI, a developer's run), at full size with JOBTUI_TEST_FULL=1.

Issue 20 (the whole suite under 3 minutes on 2 cores): a chaos, soak or property test whose size is not its
point runs fewer items, kills or rounds by default, still enough that it fails for the bug it guards; the full
size stays one variable away (`JOBTUI_TEST_FULL=1 python -m pytest tests/pg/test_chaos_pg.py`). A test's own
variable (JOBTUI_PG_CHAOS_KILLS, ...) still wins over both.
"""

from __future__ import annotations

import os

FULL = os.environ.get("JOBTUI_TEST_FULL", "").lower() in ("1", "true", "yes")
"""JOBTUI_TEST_FULL=1: every sized test at its full size."""


def sized(default: int, full: int, env: str | None = None) -> int:
    """Return a test's size: `env`'s value when set, else `full` under JOBTUI_TEST_FULL=1, else `default`."""
    if env is not None and os.environ.get(env):
        return int(os.environ[env])
    return full if FULL else default
