"""The group commit's queue, shared by every backend: statements by rank, then SQL, each with its job.

A backend's writer takes a `Batch`, asks it for its `plan` (the statements in the order to run them,
with the rows of jobs a fenced runner no longer holds left out) and runs it in one transaction. The
ranks below order the statements of one group commit: a job's un-awaited writes must be
rank-increasing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from ..model import JobId

# Ranks order the statements of one group commit: a job's un-awaited writes must be rank-increasing.
# Progress comes before a job's end, so that the end's clean-up (progress message) wins.
R_STAGE_START = 10
R_STAGE_STATE = 20
R_ITEM = 30
R_STAGE_COUNTERS = 35
R_STAGE_END = 40
R_ATTEMPT = 45
R_JOB_END = 50
R_PROGRESS = 48
R_LOG = 70
R_LOG_TRIM = 75


class Batch:
    """Statements queued for the next group commit, by rank then SQL, each with the job it belongs to."""

    __slots__ = ("keyed", "later", "latest", "ops", "size", "waiters")

    def __init__(self) -> None:
        self.ops: dict[int, dict[str, tuple[list[JobId | None], list[Sequence[Any]]]]] = {}
        """rank → SQL → (the job of each row, the rows)."""
        self.keyed: dict[int, dict[str, dict[Any, tuple[JobId | None, Sequence[Any]]]]] = {}
        """rank → SQL → key → (job, row): a later row with the same key replaces the earlier one."""
        self.latest: dict[Any, tuple[int, str, JobId | None, Callable[[], Sequence[Any]]]] = {}
        """key → (rank, SQL, job, read): a keyed row whose values are read once, when the batch is
        taken (`freeze`), instead of being built at every change (a stage's item counters, a job's
        progress: several times per item). `read` must return what is true of the rows queued so far."""
        self.later: list[tuple[int, JobId | None, Callable[[], list[tuple[str, list[Sequence[Any]]]]]]] = []
        """(rank, job, make): plain rows made when the batch is taken, as (SQL, rows) pairs, as many as `make`
        returns then (the items a loop queued since: store/done_items.py). Each counts as one write in `size`."""
        self.waiters: list[asyncio.Future[None]] = []
        self.size = 0

    def freeze(self) -> None:
        """Read the `latest` and `later` rows now and keep them as keyed and plain rows: call it when taking the batch."""
        if not self.latest and not self.later:
            return
        for key, (rank, sql, job, read) in self.latest.items():
            self.keyed.setdefault(rank, {}).setdefault(sql, {})[key] = (job, read())
        self.latest.clear()
        for rank, job, make in self.later:
            for sql, rows in make():
                jobs, queued = self.ops.setdefault(rank, {}).setdefault(sql, ([], []))
                jobs.extend([job] * len(rows))
                queued.extend(rows)
        self.later.clear()
        self._count()

    def jobs(self) -> set[JobId | None]:
        """Return the jobs that have a statement here."""
        out: set[JobId | None] = {j for _r, _s, j, _f in self.latest.values()}
        out.update(j for _r, j, _f in self.later)
        for by_sql in self.ops.values():
            for jobs, _rows in by_sql.values():
                out.update(jobs)
        for by_key in self.keyed.values():
            for keyed in by_key.values():
                out.update(j for j, _p in keyed.values())
        return out

    def absorb(self, later: Batch) -> None:
        """Append the statements and waiters of a batch queued after this one (its keyed rows win)."""
        for rank, by_sql in later.ops.items():
            mine = self.ops.setdefault(rank, {})
            for sql, (jobs, rows) in by_sql.items():
                if sql in mine:
                    mine[sql][0].extend(jobs)
                    mine[sql][1].extend(rows)
                else:
                    mine[sql] = (jobs, rows)
        for rank, by_key in later.keyed.items():
            mine_k = self.keyed.setdefault(rank, {})
            for sql, keyed in by_key.items():
                mine_k.setdefault(sql, {}).update(keyed)
        self.latest.update(later.latest)
        self.later.extend(later.later)
        self.waiters.extend(later.waiters)
        self._count()

    def purge(self, drop: set[JobId | None]) -> None:
        """Remove every statement of the jobs in `drop`."""
        for by_sql in self.ops.values():
            for sql, (jobs, rows) in list(by_sql.items()):
                if drop.isdisjoint(jobs):
                    continue
                kept = [(j, r) for j, r in zip(jobs, rows, strict=True) if j not in drop]
                by_sql[sql] = ([j for j, _r in kept], [r for _j, r in kept])
        for by_key in self.keyed.values():
            for sql, keyed in by_key.items():
                by_key[sql] = {k: v for k, v in keyed.items() if v[0] not in drop}
        self.latest = {k: v for k, v in self.latest.items() if v[2] not in drop}
        self.later = [v for v in self.later if v[1] not in drop]
        self._count()

    def _count(self) -> None:
        self.size = sum(len(rows) for by_sql in self.ops.values() for _j, rows in by_sql.values()) + sum(
            len(keyed) for by_key in self.keyed.values() for keyed in by_key.values()
        ) + sum(1 for k in self.latest if not self._is_keyed(k)) + len(self.later)

    def _is_keyed(self, key: Any) -> bool:
        """Tell whether a `latest` row's key also has a keyed row here (a requeued batch): one row, counted once."""
        rank, sql = self.latest[key][:2]
        return key in self.keyed.get(rank, {}).get(sql, {})

    def split(self) -> dict[JobId | None, Batch]:
        """Return the statements as one batch per job, each in this batch's order (the waiters stay here)."""
        self.freeze()
        parts: dict[JobId | None, Batch] = {}
        for rank, by_sql in self.ops.items():
            for sql, (jobs, rows) in by_sql.items():
                for job, row in zip(jobs, rows, strict=True):
                    part = parts.get(job) or parts.setdefault(job, Batch())
                    entry = part.ops.setdefault(rank, {}).setdefault(sql, ([], []))
                    entry[0].append(job)
                    entry[1].append(row)
        for rank, by_key in self.keyed.items():
            for sql, keyed in by_key.items():
                for key, (job, row) in keyed.items():
                    part = parts.get(job) or parts.setdefault(job, Batch())
                    part.keyed.setdefault(rank, {}).setdefault(sql, {})[key] = (job, row)
        for part in parts.values():
            part._count()
        return parts

    @classmethod
    def joined(cls, parts: Sequence[Batch], waiters: Sequence[asyncio.Future[None]]) -> Batch:
        """Return one batch of the statements of `parts` (of distinct jobs) with these waiters."""
        out = cls()
        for part in parts:
            out.absorb(part)
        out.waiters.extend(waiters)
        return out

    def plan(
        self, allowed: set[JobId | None] | None = None
    ) -> tuple[list[tuple[str, list[Sequence[Any]]]], set[JobId | None]]:
        """Return the statements to run, in order, and the jobs whose rows were left out.

        Order: by rank; within a rank, the plain statements then the keyed ones, each SQL in the
        order it was first queued, its rows in the order they were queued (a keyed row holds its
        last value). With `allowed` (the jobs a fenced runner still holds, plus None for rows of no
        job), the rows of any other job are left out and that job is reported.
        """
        self.freeze()  # a writer that took the batch without freezing it still writes these rows
        out: list[tuple[str, list[Sequence[Any]]]] = []
        lost: set[JobId | None] = set()
        for rank in sorted(set(self.ops) | set(self.keyed)):
            for sql, (jobs, rows) in self.ops.get(rank, {}).items():
                if allowed is not None and not allowed.issuperset(jobs):
                    lost.update(set(jobs) - allowed)
                    rows = [r for j, r in zip(jobs, rows, strict=True) if j in allowed]
                if rows:
                    out.append((sql, rows))
            for sql, keyed in self.keyed.get(rank, {}).items():
                krows: list[Sequence[Any]] = []
                for j, p in keyed.values():
                    if allowed is None or j in allowed:
                        krows.append(p)
                    else:
                        lost.add(j)
                if krows:
                    out.append((sql, krows))
        return out, lost
