"""Recovery: the jobs of runners that are gone (lease expired, or process dead) released, each move guarded by what was read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..model import (
    HOLDABLE,
    PAUSED_BY_REQUEST,
    JobId,
    JobStatus,
    NotifyEvent,
    RunnerInfo,
)
from .base import StoreCore
from .notify import insert_event
from .records import (
    _ACTIVE_SQL,
    job_status,
)
from .schema import sql_in
from .seam import Db

log = logging.getLogger("jobtui.store")


_RECOVER_GUARD = "job_id = $1 AND status = $2 AND coalesce(lease_owner, '') = $3"
"""A recovery's move of a job: only if it is still in the status, and held by the runner, that it read."""

RUNNER_COLS = "runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency, lease_ttl_ms, name, host_id"
"""The columns `runner_info` reads (tags are in runner_tags)."""


def runner_info(r: Any, tags: tuple[str, ...] = ()) -> RunnerInfo:
    """Return a RunnerInfo from a row of RUNNER_COLS."""
    return RunnerInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tags, r[8])



class RecoveryQueries(StoreCore):
    """Release the jobs of runners that are gone."""

    async def recover(
        self, *, self_id: str, ttl_ms: int, is_dead: Callable[[RunnerInfo], bool]
    ) -> list[tuple[JobId, JobStatus, JobStatus]]:
        """Release the jobs of runners that are gone; return (job_id, before, after) for each.

        A runner is gone when its heartbeat is older than its own lease TTL (as it registered it; `ttl_ms`
        for a runner that registered none) or `is_dead` says its process is.
        Running jobs go back to queued (recovery_count + 1), pausing ones to paused, cancelling ones to
        cancelled; their stage in flight is marked interrupted and continues from its last checkpoint.
        """
        now = self.clock()

        async def _body(db: Db) -> list[tuple[JobId, JobStatus, JobStatus]]:
            recovered: list[tuple[JobId, JobStatus, JobStatus]] = []
            live = await _forget_gone_runners(db, self_id, ttl_ms, is_dead, now)
            orphans = list(await db.execute_fetchall(
                f"SELECT job_id, status, lease_owner FROM jobs WHERE status IN {_ACTIVE_SQL} ORDER BY job_id"
            ))
            for job_id, status_text, owner in orphans:
                if owner in live:
                    continue
                before = job_status(status_text)
                after = await self._release(db, job_id, before, owner, now, self_id)
                if after is not None:
                    recovered.append((job_id, before, after))
            recovered += await _let_go_of_held(db, live, now)
            return recovered
        return await self._atomic(_body)

    async def _release(
        self, db: Db, job_id: JobId, before: JobStatus, owner: str | None, now: int, self_id: str
    ) -> JobStatus | None:
        """Move one active job of a gone runner on; None when another recovery or a request moved it first."""
        # Each move is guarded by what was read (status and holder): another recovery that took the
        # job first, or a request that moved it meanwhile, makes it a no-op here.
        guard = (job_id, before.value, owner or "")
        if before is JobStatus.RUNNING:
            after = JobStatus.QUEUED
            moved = await db.execute(
                "UPDATE jobs SET status = 'queued', lease_owner = NULL, recovery_count = recovery_count + 1,"
                f" updated_at_ms = $4 WHERE {_RECOVER_GUARD}",
                (*guard, now),
            )
        elif before is JobStatus.PAUSING:
            after = JobStatus.PAUSED
            moved = await db.execute(
                "UPDATE jobs SET status = 'paused', lease_owner = NULL, recovery_count = recovery_count + 1,"
                f" paused_at_ms = $4, pause_reason = coalesce(pause_reason, '{PAUSED_BY_REQUEST}'),"
                f" updated_at_ms = $4 WHERE {_RECOVER_GUARD}",
                (*guard, now),
            )
        else:
            after = JobStatus.CANCELLED
            moved = await db.execute(
                "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, cancelled_at_ms = $4,"
                f" pause_reason = NULL, updated_at_ms = $4 WHERE {_RECOVER_GUARD}",
                (*guard, now),
            )
        if moved < 1:
            return None
        if after is JobStatus.CANCELLED:
            await insert_event(db, job_id, NotifyEvent.CANCELLED, now, self.notify_defaults)
        await db.execute(
            "UPDATE stages SET status = 'interrupted' WHERE job_id = $1 AND status IN ('running', 'retrying')",
            (job_id,),
        )
        await db.execute(
            "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
            " VALUES ($1, $2, 'recover', $3, $4, $5, $6)",
            (job_id, now, before.value, after.value, f"runner {owner} gone", self_id),
        )
        return after


async def _forget_gone_runners(
    db: Db, self_id: str, ttl_ms: int, is_dead: Callable[[RunnerInfo], bool], now: int
) -> set[str]:
    """Delete the rows of runners that are gone; return the ids of those that live (this one too)."""
    live = {self_id}
    for r in await db.execute_fetchall(f"SELECT {RUNNER_COLS} FROM runners"):
        info = runner_info(r)
        if info.runner_id == self_id:
            continue
        # Judge each runner by its own TTL: a short-lease runner must not take a long-lease one for dead.
        its_ttl = info.lease_ttl_ms if info.lease_ttl_ms is not None and info.lease_ttl_ms > 0 else ttl_ms
        dead = is_dead(info)
        # Guarded by the heartbeat read: a runner whose heartbeat commits meanwhile stays (and keeps its jobs).
        if (now - info.heartbeat_at_ms > its_ttl or dead) and await db.execute(
            "DELETE FROM runners WHERE runner_id = $1" + ("" if dead else " AND heartbeat_at_ms = $2"),
            (info.runner_id,) if dead else (info.runner_id, info.heartbeat_at_ms),
        ) > 0:
            await db.execute("DELETE FROM runner_tags WHERE runner_id = $1", (info.runner_id,))
        else:
            live.add(info.runner_id)
    return live


async def _let_go_of_held(db: Db, live: set[str], now: int) -> list[tuple[JobId, JobStatus, JobStatus]]:
    """Let go of paused (or resumed, not yet continued) jobs whose stage a gone runner held (a frozen
    command); their stage runs again from its last checkpoint."""
    out: list[tuple[JobId, JobStatus, JobStatus]] = []
    held = list(await db.execute_fetchall(
        "SELECT job_id, status, lease_owner FROM jobs WHERE lease_owner IS NOT NULL"
        f" AND status IN {sql_in(HOLDABLE)} ORDER BY job_id"
    ))
    for job_id, status_text, owner in held:
        if owner in live:
            continue
        if await db.execute(f"UPDATE jobs SET lease_owner = NULL, updated_at_ms = $4 WHERE {_RECOVER_GUARD}",
                            (job_id, status_text, owner, now)) < 1:
            continue
        await db.execute(
            "UPDATE stages SET status = 'interrupted' WHERE job_id = $1 AND status IN ('running', 'retrying')",
            (job_id,),
        )
        out.append((job_id, JobStatus(status_text), JobStatus(status_text)))
    return out
