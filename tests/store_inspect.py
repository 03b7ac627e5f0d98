"""Reads only tests make of a store (issue 17: no test-only methods on the production contract).

Each runs one statement of both dialects through the store's own connection (`_all`), so the
contract suite checks both backends the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest

from jobtui.model import JobId, JobRef, JobStatus
from jobtui.store.seam import ThreadDb

Executemany = Callable[[str, Any], Awaitable[None]]


def replace_executemany(monkeypatch: pytest.MonkeyPatch, fn: Callable[[Executemany, str, Any], Awaitable[None]]) -> None:
    """Make every executemany inside a SQLite store's write transactions `fn(real, sql, rows)`: a fault injected
    where the group commit writes (it runs on the connection's thread, through the seam's ThreadDb)."""
    real = ThreadDb.executemany

    async def patched(self: ThreadDb, sql: str, rows: Any) -> None:
        async def through(s: str, r: Any) -> None:
            await real(self, s, r)

        await fn(through, sql, rows)

    monkeypatch.setattr(ThreadDb, "executemany", patched)


async def blocked_dependents(store: Any, job_id: JobId) -> list[JobId]:
    """Return the blocked jobs that wait on `job_id`."""
    rows = await store._all(
        "SELECT d.job_id FROM job_deps d JOIN jobs j ON j.job_id = d.job_id"
        " WHERE d.depends_on = $1 AND j.status = 'blocked' ORDER BY d.job_id",
        (job_id,),
    )
    return [int(r[0]) for r in rows]


async def job_ids_older_than(store: Any, cutoff_ms: int, statuses: Iterable[str]) -> list[JobId]:
    """Return ids of jobs in `statuses` last updated before `cutoff_ms`."""
    rows = await store._all(
        f"SELECT job_id FROM jobs WHERE updated_at_ms < $1 AND status IN ({store.sql.texts('$2')}) ORDER BY job_id",
        (cutoff_ms, json.dumps(list(statuses))),
    )
    return [int(r[0]) for r in rows]


async def dependencies(store: Any, job_id: JobId) -> tuple[tuple[JobRef, ...], tuple[JobRef, ...]]:
    """Return (the jobs `job_id` depends on, the jobs that depend on it), by id."""
    on = await store._all("SELECT j.job_id, j.type, j.status FROM job_deps d JOIN jobs j ON j.job_id = d.depends_on"
                          " WHERE d.job_id = $1 ORDER BY j.job_id", (job_id,))
    by = await store._all("SELECT j.job_id, j.type, j.status FROM job_deps d JOIN jobs j ON j.job_id = d.job_id"
                          " WHERE d.depends_on = $1 ORDER BY j.job_id", (job_id,))
    return (tuple(JobRef(int(r[0]), str(r[1]), JobStatus(r[2])) for r in on),
            tuple(JobRef(int(r[0]), str(r[1]), JobStatus(r[2])) for r in by))


async def notify_targets(store: Any, job_id: JobId) -> tuple[tuple[str, str], ...]:
    """Return where a job's ends are told (its own targets only)."""
    rows = await store._all("SELECT kind, target FROM notify_targets WHERE job_id = $1 ORDER BY kind, target", (job_id,))
    return tuple((str(r[0]), str(r[1])) for r in rows)


async def sqlite_transactions(store: Any) -> list[list[str]]:
    """Record the statements (values in) of each transaction a SQLite store commits from now on; the last list is
    the transaction still open."""
    txs: list[list[str]] = [[]]

    def traced(sql: str) -> None:  # on the connection's thread
        if sql.strip().upper() == "COMMIT":
            txs.append([])
        elif not sql.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            txs[-1].append(sql.strip())

    raw = store._conn.raw
    await raw._execute(lambda: raw._conn.set_trace_callback(traced))  # on the connection's own thread
    return txs
