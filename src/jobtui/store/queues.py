"""Queues: their rows, and the part of a claim that holds their limits across every runner.

A queue's limits (`concurrency`, `per_runner`, `rate_count`/`rate_window_ms`) and its pause are read
and applied inside the claim's own transaction (store/runs.py `claim`): what the jobs table says is
running, and what `queue_starts` says was started in the rate window, is what counts; no runner keeps a
count in memory. SQLite's claim is one `BEGIN IMMEDIATE` writer; on PostgreSQL the claim first locks the
rows of the limited queues (`FOR UPDATE`, in name order), so two runners' claims of one queue take turns
whatever other lock the store holds.

A job that occupies a queue: one a runner holds (running, pausing, cancelling), or one whose stage a
runner keeps in place (a frozen command: paused, or resumed and not yet continued) — its process still
holds what the slot stands for (a GPU).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..model import ACTIVE, HOLDABLE, Job, JobId, Queue, QueueLimits, check_queue_name
from .base import StoreCore
from .dialect import Dialect
from .records import dumps
from .schema import sql_in
from .seam import Db

QUEUE_COLS = "name, concurrency, per_runner, rate_count, rate_window_ms, slots, paused, created_at_ms, updated_at_ms"

OCCUPYING = (f"(status IN {sql_in(ACTIVE)}"
             f" OR (lease_owner IS NOT NULL AND status IN {sql_in(HOLDABLE)}))")
"""The jobs that count against their queue's limits and keep their slot (see the module's docstring)."""


def lock_queues_sql(d: Dialect) -> str:
    """Lock the limited queues' rows (names in `$1`, a JSON list) for the claim (`d.lock_rows`: nothing on SQLite)."""
    return f"SELECT name FROM queues WHERE name IN ({d.texts('$1')}) ORDER BY name{d.lock_rows}"


def _queue(row: Any, counts: dict[str, int] | None = None, started: int = 0) -> Queue:
    limits = QueueLimits(row[1], row[2], row[3], row[4], bool(row[5]))
    return Queue(row[0], limits, bool(row[6]), int(row[7]), int(row[8]), counts or {}, started)


@dataclass(slots=True)
class ClaimPlan:
    """What a claim may take from each queue this turn."""

    closed: list[str]
    """Queues none of whose jobs may start now (paused or full)."""
    paused: set[str]
    """The paused ones: not even a held stage continues there."""
    room: dict[str, int]
    """Limited queues with room: how many more of their jobs may start now."""
    limits: dict[str, QueueLimits]
    """The limits of every limited queue."""
    kept: set[JobId] = field(default_factory=set)
    """Jobs taken that occupied their queue already (a held stage of this runner's, resumed)."""

    def take(self, candidates: list[tuple[JobId, str | None, str | None]], runner_id: str, n: int) -> list[JobId]:
        """Return the candidates (id, queue, lease_owner; in claim order) that fit, up to `n`."""
        left = dict(self.room)
        out: list[JobId] = []
        for job_id, queue, owner in candidates:
            if len(out) >= n:
                break
            if queue is None or queue not in self.limits:
                out.append(job_id)
            elif owner == runner_id and queue not in self.paused:
                out.append(job_id)  # a held stage of ours: it occupies its queue (and slot) already
                self.kept.add(job_id)
            elif left.get(queue, 0) > 0:
                left[queue] -= 1
                out.append(job_id)
        return out


async def plan_claim(db: Db, runner_id: str, now: int) -> ClaimPlan:
    """Read the queues' limits and what occupies them, inside the claim's transaction; lock the limited ones."""
    rows = list(await db.execute_fetchall(f"SELECT {QUEUE_COLS} FROM queues"))
    if not rows:
        return ClaimPlan([], set(), {}, {})
    queues = [_queue(r) for r in rows]
    limited = [q for q in queues if q.limits.limited and not q.paused]
    closed = [q.name for q in queues if q.paused]
    busy: dict[str, tuple[int, int]] = {}
    if limited:
        await db.execute_fetchall(lock_queues_sql(db.dialect), (dumps([q.name for q in limited]),))
        busy = {r[0]: (int(r[1]), int(r[2] or 0)) for r in await db.execute_fetchall(
            f"SELECT queue, count(*), sum(CASE WHEN lease_owner = $1 THEN 1 ELSE 0 END) FROM jobs"
            f" WHERE queue IN ({db.dialect.texts('$2')}) AND {OCCUPYING} GROUP BY queue",
            (runner_id, dumps([q.name for q in limited])),
        )}
    room: dict[str, int] = {}
    for q in limited:
        lim = q.limits
        total, mine = busy.get(q.name, (0, 0))
        free = [10**9]
        if lim.concurrency is not None:
            free.append(lim.concurrency - total)
        if lim.per_runner is not None:
            free.append(lim.per_runner - mine)
        if lim.rate_count is not None and lim.rate_window_ms is not None:
            free.append(lim.rate_count - await _started(db, q.name, now - lim.rate_window_ms))
        if min(free) > 0:
            room[q.name] = min(free)
        else:
            closed.append(q.name)
    return ClaimPlan(closed, {q.name for q in queues if q.paused}, room, {q.name: q.limits for q in limited})


async def _started(db: Db, queue: str, since_ms: int) -> int:
    """Return the starts of a queue after `since_ms` (older ones are forgotten here)."""
    await db.execute("DELETE FROM queue_starts WHERE queue = $1 AND at_ms <= $2", (queue, since_ms))
    rows = list(await db.execute_fetchall(
        "SELECT count(*) FROM queue_starts WHERE queue = $1 AND at_ms > $2", (queue, since_ms)))
    return int(rows[0][0]) if rows else 0


async def after_claim(db: Db, plan: ClaimPlan, runner_id: str, jobs: list[Job], now: int) -> dict[JobId, int]:
    """Record the rated queues' starts and give each claimed job of a slotted queue a free slot; return the slots."""
    starts = [(j.queue, now, j.job_id) for j in jobs if j.queue in plan.limits
              and plan.limits[j.queue].rate_count is not None and j.job_id not in plan.kept]
    if starts:
        await db.executemany("INSERT INTO queue_starts (queue, at_ms, job_id) VALUES ($1, $2, $3)", starts)
    slots: dict[JobId, int] = {}
    for queue in sorted({j.queue for j in jobs if j.queue in plan.limits and plan.limits[j.queue].slots}):
        assert queue is not None
        lim = plan.limits[queue]
        per_runner = lim.per_runner is not None
        ours = [j for j in jobs if j.queue == queue]
        taken = {int(r[0]) for r in await db.execute_fetchall(
            "SELECT slot FROM jobs WHERE queue = $1 AND slot IS NOT NULL AND job_id NOT IN"
            f" ({db.dialect.ids('$2')}) AND {OCCUPYING}" + (" AND lease_owner = $3" if per_runner else ""),
            (queue, dumps([j.job_id for j in ours]), *((runner_id,) if per_runner else ())),
        )}
        # A job that kept its slot (a held stage resumed) keeps it: its process already has it.
        count = lim.slot_count or 0
        for j in ours:
            if j.slot is not None and j.slot < count and j.slot not in taken:
                slots[j.job_id] = j.slot
                taken.add(j.slot)
        free = (s for s in range(count) if s not in taken)
        for j in ours:
            if j.job_id not in slots:
                # Room was counted against the same limit as the slots, so a free one is always there.
                slot = next(free, None)
                if slot is not None:
                    slots[j.job_id] = slot
        await db.executemany("UPDATE jobs SET slot = $1 WHERE job_id = $2", [(s, jid) for jid, s in slots.items()])
    return slots


async def check_queues(db: Db, names: Iterable[str | None]) -> None:
    """Raise UsageError for a queue name that names no queue (inside the submission's transaction)."""
    wanted = sorted({n for n in names if n is not None})
    if not wanted:
        return
    known = {r[0] for r in await db.execute_fetchall(
        f"SELECT name FROM queues WHERE name IN ({db.dialect.texts('$1')})", (dumps(wanted),))}
    for name in wanted:
        if name not in known:
            raise UsageError(f"no queue {name!r} (create it: jobtui queue add {name})")


class QueueQueries(StoreCore):
    """Queues: create, change, pause, remove, list with their counts."""

    async def add_queue(self, name: str, limits: QueueLimits) -> Queue:
        """Create a queue (UsageError if one of this name exists)."""
        check_queue_name(name)
        now = self.clock()
        async def _body(db: Db) -> None:
            if list(await db.execute_fetchall("SELECT 1 FROM queues WHERE name = $1", (name,))):
                raise UsageError(f"queue {name!r} exists (change it: jobtui queue edit {name} ...)")
            await db.execute(
                f"INSERT INTO queues ({QUEUE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
                (name, limits.concurrency, limits.per_runner, limits.rate_count, limits.rate_window_ms,
                 int(limits.slots), now, now),
            )
        await self._atomic(_body)
        return await self.queue(name)

    async def edit_queue(self, name: str, limits: QueueLimits) -> Queue:
        """Replace a queue's limits (running jobs above a new limit finish; no new one starts until below)."""
        now = self.clock()
        async def _body(db: Db) -> None:
            n = await db.execute(
                "UPDATE queues SET concurrency = $1, per_runner = $2, rate_count = $3, rate_window_ms = $4, slots = $5,"
                " updated_at_ms = $6 WHERE name = $7",
                (limits.concurrency, limits.per_runner, limits.rate_count, limits.rate_window_ms, int(limits.slots),
                 now, name),
            )
            if n == 0:
                raise UsageError(f"no queue {name!r} (see jobtui queue ls)")
        await self._atomic(_body)
        return await self.queue(name)

    async def set_queue_paused(self, name: str, paused: bool) -> Queue:
        """Pause a queue (no runner claims its jobs) or resume it."""
        async def _body(db: Db) -> None:
            n = await db.execute("UPDATE queues SET paused = $1, updated_at_ms = $2 WHERE name = $3",
                                   (int(paused), self.clock(), name))
            if n == 0:
                raise UsageError(f"no queue {name!r} (see jobtui queue ls)")
        await self._atomic(_body)
        return await self.queue(name)

    async def remove_queue(self, name: str) -> None:
        """Remove a queue that no job names any more (UsageError otherwise)."""
        async def _body(db: Db) -> None:
            if not list(await db.execute_fetchall("SELECT 1 FROM queues WHERE name = $1", (name,))):
                raise UsageError(f"no queue {name!r} (see jobtui queue ls)")
            rows = list(await db.execute_fetchall("SELECT count(*) FROM jobs WHERE queue = $1", (name,)))
            if rows and int(rows[0][0]):
                raise UsageError(f"queue {name!r} still has {rows[0][0]} job(s); delete them first"
                                 f" (jobtui delete --where 'queue:{name}')")
            await db.execute("DELETE FROM queue_starts WHERE queue = $1", (name,))
            await db.execute("DELETE FROM queues WHERE name = $1", (name,))
        await self._atomic(_body)

    async def queues(self) -> list[Queue]:
        """Return every queue, by name, with its jobs counted by status."""
        rows = await self._all(f"SELECT {QUEUE_COLS} FROM queues ORDER BY name")
        counts: dict[str, dict[str, int]] = {}
        for queue, status, n in await self._all(
            "SELECT queue, status, count(*) FROM jobs WHERE queue IS NOT NULL GROUP BY queue, status"
        ):
            counts.setdefault(queue, {})[status] = int(n)
        now = self.clock()
        out = []
        for r in rows:
            q = _queue(r, counts.get(r[0]))
            if q.limits.rate_window_ms is not None:
                started = await self._one("SELECT count(*) FROM queue_starts WHERE queue = $1 AND at_ms > $2",
                                          (q.name, now - q.limits.rate_window_ms))
                q = _queue(r, counts.get(r[0]), int(started[0]) if started else 0)
            out.append(q)
        return out

    async def queue(self, name: str) -> Queue:
        """Return one queue (UsageError if none has this name)."""
        for q in await self.queues():
            if q.name == name:
                return q
        raise UsageError(f"no queue {name!r} (see jobtui queue ls)")

    async def paused_by_queue(self, name: str, marker: str) -> list[JobId]:
        """Return the queue's paused jobs whose last pause request was `marker` (the queue's own pause)."""
        rows = await self._all(
            "SELECT j.job_id FROM jobs j WHERE j.queue = $1 AND j.status = 'paused' AND (SELECT r.detail FROM requests r"
            " WHERE r.job_id = j.job_id AND r.action = 'pause' ORDER BY r.request_id DESC LIMIT 1) = $2 ORDER BY j.job_id",
            (name, marker),
        )
        return [int(r[0]) for r in rows]


__all__ = ["ClaimPlan", "QueueQueries", "after_claim", "check_queues", "plan_claim"]
