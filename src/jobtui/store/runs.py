"""The runner's side: its registration and lease, claims, what it asks of its jobs (recovery: store/recovery.py;
the group-committed writes of running jobs: store/checkpoints.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ..errors import RunnerNameTakenError
from ..model import (
    RUNNABLE,
    Job,
    JobId,
    JobStatus,
    ProcessRecord,
    RunnerInfo,
    StageStatus,
)
from .checkpoints import CheckpointWrites
from .commit import NOT_RUN
from .dialect import Dialect
from .fleet import fits, write_runner_tags
from .processes import PROCESS_UPSERT, upsert_params
from .queues import after_claim, plan_claim
from .records import (
    _ACTIVE_SQL,
    _PENDING_SQL,
    JOB_COLS,
    Claimed,
    CorruptRowError,
    StageRecord,
    _job,
    _loads,
    dumps,
    job_status,
)
from .recovery import RUNNER_COLS, RecoveryQueries, runner_info
from .schema import sql_in
from .seam import Db, Params
from .values import Ahead

log = logging.getLogger("jobtui.store")


def claim_sql(d: Dialect) -> str:
    """Return the claim's pick in dialect `d`: (id, queue, lease_owner) of the next `$4` runnable jobs of the
    types in `$3` (a JSON list) at `$2` that runner `$1` has the tags for, outside the queues in `$5` (a JSON
    list: paused or full; a stage runner `$1` holds is never shut out by its own queue being full); the claim
    then keeps those its queues have room for.

    One indexed walk of `jobs_claim` per runnable status, each stopping after `$4` rows, merged: an
    `OR` on status here made SQLite read every queued row and sort them, so each claim cost grew with
    the queue (issue 6, item 7). Each walk locks the rows it takes and skips those another claim holds
    (`d.skip_locked`: nothing on SQLite, whose one writer needs no row locks).
    """
    return _CLAIM_SQL.get(d.name) or _CLAIM_SQL.setdefault(d.name, _claim_sql(d))


_CLAIM_SQL: dict[str, str] = {}


def _claim_sql(d: Dialect) -> str:
    def one(status: str, due: str) -> str:
        return (f"SELECT job_id, priority, created_at_ms, queue, lease_owner FROM jobs WHERE status = '{status}'"
                f" AND {due} AND type IN ({d.texts('$3')}) AND (queue IS NULL OR lease_owner = $1"
                f" OR queue NOT IN ({d.texts('$5')}))"
                f" ORDER BY priority DESC, created_at_ms, job_id LIMIT $4{d.skip_locked}")

    # A resumed job whose stage a runner held (a frozen command) goes back to that runner only.
    queued = one("queued", f"(run_at_ms IS NULL OR run_at_ms <= $2) AND (lease_owner IS NULL OR lease_owner = $1)"
                           f" AND {fits('$1')}")
    waiting = one("waiting_retry", f"next_retry_at_ms <= $2 AND {fits('$1')}")
    return (f"SELECT job_id, queue, lease_owner FROM (SELECT * FROM ({queued}) AS q1 UNION ALL"
            f" SELECT * FROM ({waiting}) AS q2) AS q"
            " ORDER BY priority DESC, created_at_ms, job_id LIMIT $4")


def take_sql(d: Dialect) -> str:
    """Return the claim's move in dialect `d`: runner `$1` takes the jobs of ids `$3` (a JSON list) at `$2`, those still
    runnable and free (or already its own), and gets their rows, each with its output bytes."""
    return (
        "UPDATE jobs SET status = 'running', lease_owner = $1, started_at_ms = coalesce(started_at_ms, $2),"
        " updated_at_ms = $2, next_retry_at_ms = NULL, paused_at_ms = NULL"
        f" WHERE {d.id_in('job_id', '$3')} AND status IN {sql_in(RUNNABLE)}"
        f" AND (lease_owner IS NULL OR lease_owner = $1) RETURNING {JOB_COLS}, output_bytes"
    )


async def _ahead_rows(db: Db, ahead: Ahead | None, jobs: list[Job], stages: dict[JobId, list[StageRecord]],
                      runner_id: str, now: int) -> dict[JobId, tuple[int, str]]:
    """Write the process rows of `ahead`'s containments for the claimed `jobs` of its types (none of them has a
    process left by an earlier run), each at its first stage not completed, and count that stage's run; return
    {job: (stage index, token)} (the stage records returned keep the count read before)."""
    if ahead is None or not ahead.containments:
        return {}
    given: dict[JobId, tuple[int, str]] = {}
    rows: list[tuple[Any, ...]] = []
    free = iter(ahead.containments)
    for j in jobs:
        index = next((r.index for r in stages.get(j.job_id, ()) if r.status is not StageStatus.COMPLETED), None)
        if j.type not in ahead.types or index is None:
            continue
        spare = next(free, None)
        if spare is None:
            break
        token, cgroup = spare
        given[j.job_id] = (index, token)
        rows.append(upsert_params(ProcessRecord(j.job_id, index, "", 0, 0, 0, ahead.boot_id, runner_id, (), None, now,
                                                token=token, cgroup=cgroup)))
    if rows:
        await db.executemany(PROCESS_UPSERT, rows)
        # The run is counted before its command may start, as when its start committed with the token before the fork:
        # a runner killed in between leaves the next run a new `ctx.attempt` (the stage start writes the same count).
        await db.executemany("UPDATE stages SET runs = runs + 1 WHERE job_id = $1 AND stage_index = $2",
                             [(job, index) for job, (index, _token) in given.items()])
    return given


class RunnerWrites(CheckpointWrites, RecoveryQueries):
    """Leases, claims, recovery and the checkpoints of running jobs."""

    async def register_runner(self, info: RunnerInfo, *, is_dead: Callable[[RunnerInfo], bool] | None = None) -> None:
        """Record a runner, its lease TTL, name, tags and host identity, and its first heartbeat (again: replace them).

        Raises:
            RunnerNameTakenError: another runner of this name is alive (fresh lease, and `is_dead` does
                not say its process is gone); nothing is written.
        """
        async def _body(db: Db) -> None:
            if info.name is not None:
                await db.execute(db.dialect.name_lock_sql, (info.name,))
                await self._refuse_taken_name(db, info, is_dead or (lambda _r: False))
            await db.execute("DELETE FROM runner_tags WHERE runner_id = $1", (info.runner_id,))
            await db.execute("DELETE FROM runners WHERE runner_id = $1", (info.runner_id,))
            await db.execute(
                "INSERT INTO runners (runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency,"
                " lease_ttl_ms, name, host_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                (info.runner_id, info.pid, info.hostname, info.started_at_ms, info.heartbeat_at_ms, info.concurrency,
                 info.lease_ttl_ms, info.name, info.host_id),
            )
            await write_runner_tags(db, info.runner_id, info.tags)
        await self._atomic(_body)

    async def _refuse_taken_name(self, db: Db, info: RunnerInfo, is_dead: Callable[[RunnerInfo], bool]) -> None:
        """Raise RunnerNameTakenError if a live runner other than `info` has its name (inside the register transaction)."""
        now = self.clock()
        for r in await db.execute_fetchall(
            f"SELECT {RUNNER_COLS} FROM runners WHERE name = $1 AND runner_id != $2", (info.name, info.runner_id)
        ):
            other = runner_info(r)
            ttl = other.lease_ttl_ms if other.lease_ttl_ms is not None and other.lease_ttl_ms > 0 else 0
            age_s = max(0, now - other.heartbeat_at_ms) / 1000
            if now - other.heartbeat_at_ms <= ttl and not is_dead(other):
                raise RunnerNameTakenError(str(info.name), (
                    f"runner name {info.name!r} is already in use by a live runner (host {other.hostname}, pid"
                    f" {other.pid}, heartbeat {age_s:.0f}s ago): stop it, wait {ttl / 1000 - age_s:.0f}s for its"
                    " lease to end, or choose another --name"))

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease; return False when its row is gone (its jobs were reclaimed)."""
        async def _body(db: Db) -> bool:
            n = await db.execute(
                "UPDATE runners SET heartbeat_at_ms = $1 WHERE runner_id = $2", (self.clock(), runner_id)
            )
            return n > 0
        return await self._atomic(_body)

    async def unregister_runner(self, runner_id: str) -> None:
        """Remove a runner that stopped cleanly."""
        async def _body(db: Db) -> None:
            await db.execute("DELETE FROM runner_tags WHERE runner_id = $1", (runner_id,))
            await db.execute("DELETE FROM runners WHERE runner_id = $1", (runner_id,))
        await self._atomic(_body)

    async def claim(self, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                    ) -> list[Claimed]:
        """Atomically take up to `limit` runnable jobs of `types` (priority, then age) for this runner; with `ahead`,
        commit the process rows of their first commands too (`Ahead`)."""
        if limit <= 0:
            return []
        pending = self.claim_soon(runner_id, limit, types, ahead)
        if pending is not None:
            claimed = await pending
            if claimed is not NOT_RUN:
                return claimed  # type: ignore[no-any-return]
            if self.stalled:
                return []  # the database takes no writes now: claim nothing until it does
        return await self._atomic(lambda db: self._claim_in(db, runner_id, limit, types, ahead))

    def claim_soon(self, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                   ) -> asyncio.Future[Any] | None:
        """Queue a claim (as `claim`) to ride the next group commit, after the writes queued so far (a job's end: one
        fsync for both); return the future of its jobs (not a list: that commit failed, nothing was claimed).
        None where claims take a transaction of their own (`claims_ride`)."""
        if not self.claims_ride or limit <= 0:
            return None
        return self.ride_soon(lambda db: self._claim_in(db, runner_id, limit, list(types), ahead))

    async def _claim_in(self, db: Db, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                        ) -> list[Claimed]:
        """Take up to `limit` runnable jobs inside the open transaction."""
        now = self.clock()
        plan = await plan_claim(db, runner_id, now)
        candidates = await db.execute_fetchall(
            claim_sql(self.sql), (runner_id, now, dumps(list(types)), limit, dumps(plan.closed)))
        taken = plan.take([(r[0], r[1], r[2]) for r in candidates], runner_id, limit)
        rows = await db.execute_fetchall(take_sql(self.sql), (runner_id, now, dumps(taken))) if taken else []
        decoded: list[Job] = []
        unreadable: dict[JobId, str] = {}
        output = {r[0]: int(r[-1] or 0) for r in rows}
        for r in rows:
            try:
                decoded.append(_job(r[:-1]))
            except CorruptRowError as e:
                unreadable[r[0]] = str(e)
        jobs = sorted(decoded, key=lambda j: (-j.priority, j.created_at_ms, j.job_id))
        if plan.limits:
            slots = await after_claim(db, plan, runner_id, jobs, now)
            jobs = [replace(j, slot=slots[j.job_id]) if j.job_id in slots else j for j in jobs]
        stage_rows = list(await db.execute_fetchall(
            "SELECT job_id, stage_index, name, status, attempts, generation, output, state, items_done,"
            f" items_failed, runs, failures FROM stages WHERE {self.sql.id_in('job_id', '$1')}"
            " ORDER BY job_id, stage_index",
            (dumps([j.job_id for j in jobs]),),
        )) if jobs else []
        # Jobs with a process an earlier run may have left: each stage ends those before its first command. Read
        # where a statement of the claim costs no round trip (SQLite's claim runs on the connection's thread);
        # elsewhere each stage reads them itself (unknown: True).
        left = {r[0] for r in await db.execute_fetchall(
            f"SELECT DISTINCT job_id FROM processes WHERE {self.sql.id_in('job_id', '$1')} AND ended_at_ms IS NULL",
            (dumps([j.job_id for j in jobs]),),
        )} if jobs and self.claims_ride else {j.job_id for j in jobs}
        by_job: dict[JobId, list[StageRecord]] = {}
        for r in stage_rows:
            try:
                status = StageStatus(r[3])
                record = StageRecord(r[1], r[2], status, r[4], r[5], _loads(r[6]), _loads(r[7]), r[8], r[9],
                                     r[10], r[11])
            except (CorruptRowError, ValueError):
                unreadable[r[0]] = f"job {r[0]}: stage {r[2]!r} is unreadable in the database"
                continue
            by_job.setdefault(r[0], []).append(record)
        # A row jobtui never wrote (hand-edited, another program) fails its own job, here and
        # now; left queued it would fail every claim and stop the runner for all jobs.
        for job_id, reason in unreadable.items():
            log.error("%s; marking it failed", reason)
            await db.execute(
                "UPDATE jobs SET status = 'failed', lease_owner = NULL, error_message = $1, updated_at_ms = $2"
                " WHERE job_id = $3",
                (reason, now, job_id),
            )
        kept = [j for j in jobs if j.job_id not in unreadable]
        given = await _ahead_rows(db, ahead, [j for j in kept if j.job_id not in left], by_job, runner_id, now)
        return [Claimed(j, tuple(by_job.get(j.job_id, ())), output[j.job_id], j.job_id in left, given.get(j.job_id))
                for j in kept]

    async def has_runnable(
        self, types: Iterable[str], *, due_by_ms: int | None = None, runner_id: str | None = None
    ) -> bool:
        """Tell whether any job of `types` is queued or waiting to retry (now or later), or held by a runner.

        With `due_by_ms`, a queued or waiting job counts only when it is due by then (`run --exit-when-idle`);
        with `runner_id`, a job waiting to be claimed counts only when that runner has every tag it needs.
        """
        p = Params(dumps(list(types)))
        fit = "" if runner_id is None else f" AND {fits(p.add(runner_id))}"
        if due_by_ms is None:
            row = await self._one(
                f"SELECT 1 FROM jobs WHERE status IN {_PENDING_SQL} AND type IN ({self.sql.texts('$1')}){fit} LIMIT 1",
                p.values,
            )
        else:
            due = p.add(due_by_ms)
            row = await self._one(
                f"SELECT 1 FROM jobs WHERE (status IN {_ACTIVE_SQL}"
                f"   OR (status = 'queued' AND (run_at_ms IS NULL OR run_at_ms <= {due}){fit})"
                f"   OR (status = 'waiting_retry' AND next_retry_at_ms <= {due}{fit}))"
                f" AND type IN ({self.sql.texts('$1')}) LIMIT 1",
                p.values,
            )
        return row is not None

    async def next_due_ms(self, types: Iterable[str], *, runner_id: str | None = None) -> int | None:
        """Return the earliest time a delayed or waiting job of `types` (that `runner_id` fits) becomes runnable."""
        fit, extra = ("", ()) if runner_id is None else (f" AND {fits('$2')}", (runner_id,))
        row = await self._one(
            "SELECT min(coalesce(run_at_ms, next_retry_at_ms)) FROM jobs WHERE"
            " ((status = 'queued' AND run_at_ms IS NOT NULL) OR status = 'waiting_retry')"
            f" AND type IN ({self.sql.texts('$1')}){fit}",
            (dumps(list(types)), *extra),
        )
        return None if row is None or row[0] is None else int(row[0])

    async def owned_requests(self, runner_id: str, *, expected: int | None = None) -> dict[JobId, JobStatus] | None:
        """Return the status of every job this runner holds (pausing / cancelling show requests).

        With `expected` (how many jobs the runner believes it holds), return only the jobs with a
        request when the count matches, and None when nothing is asked: the cheap common case.
        """
        if expected is not None:
            rows = await self._all(
                "SELECT count(*), sum(CASE WHEN status = 'running' THEN 0 ELSE 1 END) FROM jobs WHERE lease_owner = $1"
                f" AND status IN {_ACTIVE_SQL}",
                (runner_id,),
            )
            count, asked = rows[0][0], rows[0][1] or 0
            if count == expected and not asked:
                return None
        rows = await self._all(
            f"SELECT job_id, status FROM jobs WHERE lease_owner = $1 AND status IN {_ACTIVE_SQL}", (runner_id,)
        )
        return {r[0]: job_status(r[1]) for r in rows}

    async def item_keys(self, job_id: JobId, stage_index: int) -> tuple[set[str], set[str]]:
        """Return the keys of the done and of the failed items of one stage."""
        rows = await self._all(
            "SELECT key, status FROM items WHERE job_id = $1 AND stage_index = $2", (job_id, stage_index)
        )
        done = {r[0] for r in rows if r[1] == "done"}
        failed = {r[0] for r in rows if r[1] != "done"}
        return done, failed
