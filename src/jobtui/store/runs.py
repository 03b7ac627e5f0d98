"""The runner's side: leases, claims, recovery, and the group-committed writes of running jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ..errors import RunnerNameTakenError
from ..model import (
    ACTIVE,
    HOLDABLE,
    PAUSED_BY_REQUEST,
    RUNNABLE,
    Job,
    JobId,
    JobStatus,
    NotifyEvent,
    RunnerInfo,
    StageStatus,
    sources,
)
from ..storable import count, opt_text, text
from .base import StoreCore
from .batch import (
    R_ATTEMPT,
    R_ITEM,
    R_JOB_END,
    R_LOG,
    R_LOG_TRIM,
    R_PROGRESS,
    R_STAGE_COUNTERS,
    R_STAGE_END,
    R_STAGE_START,
    R_STAGE_STATE,
)
from .deps import UNBLOCK_SQL
from .dialect import Dialect
from .fleet import fits, write_runner_tags
from .notify import insert_event
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
from .schema import sql_in
from .seam import Db, Params

log = logging.getLogger("jobtui.store")


def _from(target: JobStatus) -> str:
    """Return the SQL list of states a running job may move to `target` from, per the transition table."""
    return sql_in(sources(target) & ACTIVE)


_TO_COMPLETED = _from(JobStatus.COMPLETED)
_TO_FAILED = _from(JobStatus.FAILED)
_TO_WAITING = _from(JobStatus.WAITING_RETRY)
_TO_PAUSED = _from(JobStatus.PAUSED)
_TO_CANCELLED = _from(JobStatus.CANCELLED)


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


_STAGE_START_SQL = (
    "UPDATE stages SET status = 'running', attempts = $1, max_attempts = $2, runs = coalesce($3, runs + 1),"
    " failures = $4, traceback = NULL,"
    " started_at_ms = coalesce(started_at_ms, $5), finished_at_ms = NULL, next_attempt_at_ms = NULL"
    " WHERE job_id = $6 AND stage_index = $7"
)


_STAGE_COUNTERS_SQL = (
    "UPDATE stages SET items_total = $1, items_done = $2, items_failed = $3, checkpoint_at_ms = $4"
    " WHERE job_id = $5 AND stage_index = $6"
)
_PROGRESS_SQL = (
    "UPDATE jobs SET progress_done = $1, progress_total = $2, progress_message = $3, items_done = $4,"
    " items_failed = $5, consecutive_failures = $6, updated_at_ms = $7 WHERE job_id = $8"
)


_RECOVER_GUARD = "job_id = $1 AND status = $2 AND coalesce(lease_owner, '') = $3"
"""A recovery's move of a job: only if it is still in the status, and held by the runner, that it read."""

RUNNER_COLS = "runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency, lease_ttl_ms, name, host_id"
"""The columns `runner_info` reads (tags are in runner_tags)."""


def runner_info(r: Any, tags: tuple[str, ...] = ()) -> RunnerInfo:
    """Return a RunnerInfo from a row of RUNNER_COLS."""
    return RunnerInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tags, r[8])


class RunnerWrites(StoreCore):
    """Leases, claims, recovery and the checkpoints of running jobs."""

    async def register_runner(self, info: RunnerInfo, *, is_dead: Callable[[RunnerInfo], bool] | None = None) -> None:
        """Record a runner, its lease TTL, name, tags and host identity, and its first heartbeat (again: replace them).

        Raises:
            RunnerNameTakenError: another runner of this name is alive (fresh lease, and `is_dead` does
                not say its process is gone); nothing is written.
        """
        async with self._tx() as db:
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
        async with self._tx() as db:
            n = await db.execute(
                "UPDATE runners SET heartbeat_at_ms = $1 WHERE runner_id = $2", (self.clock(), runner_id)
            )
            return n > 0

    async def unregister_runner(self, runner_id: str) -> None:
        """Remove a runner that stopped cleanly."""
        async with self._tx() as db:
            await db.execute("DELETE FROM runner_tags WHERE runner_id = $1", (runner_id,))
            await db.execute("DELETE FROM runners WHERE runner_id = $1", (runner_id,))

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
        recovered: list[tuple[JobId, JobStatus, JobStatus]] = []
        async with self._tx() as db:
            rows = list(await db.execute_fetchall(f"SELECT {RUNNER_COLS} FROM runners"))
            live = {self_id}
            for r in rows:
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
            orphans = list(await db.execute_fetchall(
                f"SELECT job_id, status, lease_owner FROM jobs WHERE status IN {_ACTIVE_SQL} ORDER BY job_id"
            ))
            for job_id, status_text, owner in orphans:
                if owner in live:
                    continue
                before = job_status(status_text)
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
                    continue
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
                recovered.append((job_id, before, after))
            # Paused (or resumed, not yet continued) jobs whose stage a dead runner held (a frozen
            # command): let go of them; their stage runs again from its last checkpoint.
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
                recovered.append((job_id, JobStatus(status_text), JobStatus(status_text)))
        return recovered

    async def claim(self, runner_id: str, limit: int, types: Iterable[str]) -> list[Claimed]:
        """Atomically take up to `limit` runnable jobs of `types` (priority, then age) for this runner."""
        if limit <= 0:
            return []
        now = self.clock()
        async with self._tx() as db:
            plan = await plan_claim(db, runner_id, now)
            candidates = await db.execute_fetchall(
                claim_sql(self.sql), (runner_id, now, dumps(list(types)), limit, dumps(plan.closed)))
            taken = plan.take([(r[0], r[1], r[2]) for r in candidates], runner_id, limit)
            rows = await db.execute_fetchall(
                "UPDATE jobs SET status = 'running', lease_owner = $1, started_at_ms = coalesce(started_at_ms, $2),"
                " updated_at_ms = $2, next_retry_at_ms = NULL, paused_at_ms = NULL"
                f" WHERE job_id IN ({self.sql.ids('$3')}) AND status IN {sql_in(RUNNABLE)}"
                f" AND (lease_owner IS NULL OR lease_owner = $1) RETURNING {JOB_COLS}",
                (runner_id, now, dumps(taken)),
            ) if taken else []
            decoded: list[Job] = []
            unreadable: dict[JobId, str] = {}
            for r in rows:
                try:
                    decoded.append(_job(r))
                except CorruptRowError as e:
                    unreadable[r[0]] = str(e)
            jobs = sorted(decoded, key=lambda j: (-j.priority, j.created_at_ms, j.job_id))
            if plan.limits:
                slots = await after_claim(db, plan, runner_id, jobs, now)
                jobs = [replace(j, slot=slots[j.job_id]) if j.job_id in slots else j for j in jobs]
            stage_rows = list(await db.execute_fetchall(
                "SELECT job_id, stage_index, name, status, attempts, generation, output, state, items_done,"
                f" items_failed, runs, failures FROM stages WHERE job_id IN ({self.sql.ids('$1')})"
                " ORDER BY job_id, stage_index",
                (dumps([j.job_id for j in jobs]),),
            )) if jobs else []
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
        return [Claimed(j, tuple(by_job.get(j.job_id, ()))) for j in jobs if j.job_id not in unreadable]

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

    # ---------------------------------------------------- group-committed writes from running jobs
    def stage_started(
        self, job_id: JobId, index: int, attempt: int, max_attempts: int, run: int | None = None, failures: int = 0
    ) -> None:
        """Queue: a stage attempt starts (`attempt` of `max_attempts` in its retry budget; its `run`-th start)."""
        now = self.clock()
        params = (attempt, max_attempts, run, failures, now, job_id, index)
        if run is None:
            self._submit(R_STAGE_START, _STAGE_START_SQL, params, job=job_id)
        else:
            # Keyed, so that stage_finished can fold it into its own row while both wait for one commit.
            self._submit(R_STAGE_START, _STAGE_START_SQL, params, key=(job_id, index), job=job_id)
        self._submit(
            R_STAGE_START,
            "UPDATE jobs SET current_step_index = $1, progress_done = 0, progress_total = 0, progress_message = NULL,"
            " updated_at_ms = $2 WHERE job_id = $3",
            (index, now, job_id), job=job_id,
        )

    def stage_state(self, job_id: JobId, index: int, state: Any) -> None:
        """Queue: a stage's checkpoint state."""
        self._submit(
            R_STAGE_STATE,
            "UPDATE stages SET state = $1, checkpoint_at_ms = $2 WHERE job_id = $3 AND stage_index = $4",
            (dumps(state), self.clock(), job_id, index), job=job_id,
        )
        # Readers that poll `updated_after_ms` (the TUI) see a checkpoint too.
        self._submit(R_STAGE_STATE, "UPDATE jobs SET updated_at_ms = $1 WHERE job_id = $2", (self.clock(), job_id),
                     key=job_id, job=job_id)

    def file_tracked(self, job_id: JobId, index: int, path: str, size: int, sha256: str) -> None:
        """Queue: a file kept in the job's workspace (a later record of the same path replaces it)."""
        self._submit(
            R_STAGE_STATE,
            "INSERT INTO files (job_id, path, stage_index, size, sha256, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (job_id, path) DO UPDATE SET stage_index = excluded.stage_index, size = excluded.size,"
            " sha256 = excluded.sha256, created_at_ms = excluded.created_at_ms",
            (job_id, path, index, size, sha256, self.clock()), job=job_id,
        )

    def item_finished(
        self, job_id: JobId, index: int, key: str, ok: bool, result: Any, error: str | None, attempts: int
    ) -> None:
        """Queue: an item's result and its done (or failed) mark, in one row."""
        self._submit(
            R_ITEM,
            "INSERT INTO items (job_id, stage_index, key, status, result, error, attempts, updated_at_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id, stage_index, key) DO UPDATE SET"
            " status = excluded.status, result = excluded.result, error = excluded.error,"
            " attempts = items.attempts + excluded.attempts, updated_at_ms = excluded.updated_at_ms",
            (job_id, index, text(key), "done" if ok else "failed", None if result is None else dumps(result),
             opt_text(error), attempts, self.clock()), job=job_id,
        )

    def stage_counters(self, job_id: JobId, index: int, total: int | None, done: int, failed: int) -> None:
        """Queue: a stage's item counters (the last value queued wins)."""
        self._submit(
            R_STAGE_COUNTERS, _STAGE_COUNTERS_SQL, (total, done, failed, self.clock(), job_id, index),
            key=("counters", job_id, index), job=job_id,
        )

    def watch_stage_counters(self, job_id: JobId, index: int, read: Callable[[], tuple[int | None, int, int]]) -> None:
        """Queue: a stage's item counters (total, done, failed) as `read` returns them when the next commit is taken.

        Call it at every change; it costs a dict lookup once queued. `read` must count only items
        whose rows are already queued (so that no counter runs ahead of what commits with it).
        """
        def row() -> tuple[Any, ...]:
            total, done, failed = read()
            return (total, done, failed, self.clock(), job_id, index)

        self._latest(R_STAGE_COUNTERS, _STAGE_COUNTERS_SQL, ("counters", job_id, index), job_id, row)

    def stage_finished(self, job_id: JobId, index: int, output: Any, *, note: str | None = None) -> None:
        """Queue: a stage completed with its output (and `note`, kept as its error: the failed items it tolerated).

        When its start still waits for the same group commit (a quick stage), the two become one
        UPDATE of the stage's row: the row ends as both would have left it, with one write fewer.
        """
        now = self.clock()
        start = self._unqueue(R_STAGE_START, _STAGE_START_SQL, (job_id, index))
        if start is None:
            self._submit(
                R_STAGE_END,
                "UPDATE stages SET status = 'completed', output = $1, finished_at_ms = $2, checkpoint_at_ms = $3,"
                " error = $4, next_attempt_at_ms = NULL WHERE job_id = $5 AND stage_index = $6",
                (dumps(output), now, now, note, job_id, index), job=job_id,
            )
        else:
            attempt, max_attempts, run, failures, started = start[:5]
            self._submit(
                R_STAGE_END,
                "UPDATE stages SET status = 'completed', attempts = $1, max_attempts = $2, runs = $3, failures = $4,"
                " traceback = NULL, started_at_ms = coalesce(started_at_ms, $5), output = $6, finished_at_ms = $7,"
                " checkpoint_at_ms = $8, error = $9, next_attempt_at_ms = NULL WHERE job_id = $10 AND stage_index = $11",
                (attempt, max_attempts, run, failures, started, dumps(output), now, now, note, job_id, index),
                job=job_id,
            )

    def stage_stopped(
        self, job_id: JobId, index: int, status: StageStatus, error: str | None, next_attempt_at_ms: int | None = None
    ) -> None:
        """Queue: a stage attempt ended without output (retrying, interrupted or failed)."""
        self._submit(
            R_STAGE_END,
            "UPDATE stages SET status = $1, error = coalesce($2, error), next_attempt_at_ms = $3,"
            " finished_at_ms = CASE WHEN $4 = 'failed' THEN $5 ELSE finished_at_ms END"
            " WHERE job_id = $6 AND stage_index = $7",
            (status.value, opt_text(error), next_attempt_at_ms, status.value, self.clock(), job_id, index), job=job_id,
        )

    def attempt_failed(
        self, job_id: JobId, index: int, attempt: int, error: str, transient: bool, *,
        failures: int | None = None, traceback: str | None = None,
    ) -> None:
        """Queue: one failed attempt of a stage (its `attempt`-th run), kept as history.

        With `failures`, also set the stage's count of failed attempts in its retry budget; with
        `traceback`, keep the last frames of an unexpected exception on the stage.
        """
        self._submit(
            R_ATTEMPT,
            "INSERT INTO attempts (job_id, stage_index, attempt, failed_at_ms, error, transient)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, stage_index, attempt) DO UPDATE SET"
            " failed_at_ms = excluded.failed_at_ms, error = excluded.error, transient = excluded.transient",
            (job_id, index, attempt, self.clock(), text(error), int(transient)), job=job_id,
        )
        if failures is not None or traceback is not None:
            self._submit(
                R_ATTEMPT,
                "UPDATE stages SET failures = coalesce($1, failures), traceback = coalesce($2, traceback)"
                " WHERE job_id = $3 AND stage_index = $4",
                (failures, opt_text(traceback), job_id, index), job=job_id,
            )

    def job_completed(self, job_id: JobId, runner_id: str, total_steps: int) -> None:
        """Queue: the job completed."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'completed', lease_owner = NULL, completed_at_ms = $1, updated_at_ms = $2,"
            " current_step_index = $3, progress_message = NULL, error_message = NULL, failed_step = NULL,"
            " pause_reason = NULL WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_COMPLETED,
            (now, now, total_steps, job_id, runner_id), job=job_id,
        )
        # Its blocked dependents whose other dependencies are done become runnable in the same commit.
        self._submit(R_JOB_END + 1, UNBLOCK_SQL, (now, job_id), job=job_id)

    def job_failed(
        self, job_id: JobId, runner_id: str, stage: str, error: str, *, retry_at_ms: int | None
    ) -> None:
        """Queue: the job failed; with `retry_at_ms` it waits for an automatic retry."""
        now = self.clock()
        if retry_at_ms is None:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'failed', lease_owner = NULL, failed_step = $1, error_message = $2,"
                " updated_at_ms = $3 WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_FAILED,
                (stage, text(error), now, job_id, runner_id), job=job_id,
            )
        else:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'waiting_retry', lease_owner = NULL, failed_step = $1, error_message = $2,"
                " retry_count = retry_count + 1, next_retry_at_ms = $3, updated_at_ms = $4"
                " WHERE job_id = $5 AND lease_owner = $6 AND status IN " + _TO_WAITING,
                (stage, text(error), retry_at_ms, now, job_id, runner_id), job=job_id,
            )

    def job_paused(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job stopped at a safe point and is paused."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'paused', lease_owner = NULL, paused_at_ms = $1, pause_reason = $2,"
            " updated_at_ms = $3 WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_PAUSED,
            (now, text(reason), now, job_id, runner_id), job=job_id,
        )

    def job_held(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job is paused, but this runner keeps holding it (its stage waits in place)."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'paused', paused_at_ms = $1, pause_reason = $2, updated_at_ms = $3"
            " WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _TO_PAUSED,
            (now, text(reason), now, job_id, runner_id),
        )

    def job_unheld(self, job_id: JobId, runner_id: str) -> None:
        """Queue: this runner lets go of a held job (paused, or resumed but not yet continued)."""
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET lease_owner = NULL, updated_at_ms = $1 WHERE job_id = $2 AND lease_owner = $3"
            f" AND status NOT IN {_ACTIVE_SQL}",
            (self.clock(), job_id, runner_id),
        )

    def job_cancelled(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the job was cancelled."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, cancelled_at_ms = $1, updated_at_ms = $2,"
            " pause_reason = NULL WHERE job_id = $3 AND lease_owner = $4 AND status IN " + _TO_CANCELLED,
            (now, now, job_id, runner_id), job=job_id,
        )

    def job_released(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the runner shuts down and hands the job back (queued, pausing → paused, cancelling → cancelled).

        Each of the three moves is in the transition table (tests/test_model.py checks it).
        """
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET lease_owner = NULL, updated_at_ms = $1,"
            " status = CASE status WHEN 'pausing' THEN 'paused' WHEN 'cancelling' THEN 'cancelled' ELSE 'queued' END,"
            " paused_at_ms = CASE status WHEN 'pausing' THEN $2 ELSE paused_at_ms END,"
            f" pause_reason = CASE status WHEN 'pausing' THEN '{PAUSED_BY_REQUEST}' WHEN 'cancelling' THEN NULL"
            " ELSE pause_reason END,"
            " cancelled_at_ms = CASE status WHEN 'cancelling' THEN $3 ELSE cancelled_at_ms END"
            " WHERE job_id = $4 AND lease_owner = $5 AND status IN " + _ACTIVE_SQL,
            (now, now, now, job_id, runner_id), job=job_id,
        )

    def progress(
        self, job_id: JobId, done: int, total: int, message: str | None, items_done: int, items_failed: int,
        consecutive_failures: int,
    ) -> None:
        """Queue: a job's progress and counters (the last value queued wins)."""
        self._submit(
            R_PROGRESS, _PROGRESS_SQL,
            (count(done), count(total), opt_text(message), items_done, items_failed, consecutive_failures,
             self.clock(), job_id),
            key=("progress", job_id), job=job_id,
        )

    def watch_progress(
        self, job_id: JobId, read: Callable[[], tuple[int, int, str | None, int, int, int]]
    ) -> None:
        """Queue: a job's progress and counters (done, total, message, items_done, items_failed,
        consecutive_failures) as `read` returns them when the next commit is taken (see watch_stage_counters)."""
        def row() -> tuple[Any, ...]:
            done, total, message, *counters = read()
            return (count(done), count(total), opt_text(message), *counters, self.clock(), job_id)

        self._latest(R_PROGRESS, _PROGRESS_SQL, ("progress", job_id), job_id, row)

    def log(self, job_id: JobId, level: str, message: str, *, held: bool = True) -> None:
        """Queue: one line of a job's log (`held=False`: of a job this runner does not hold, e.g. one it recovered)."""
        self._submit(
            R_LOG,
            "INSERT INTO logs (job_id, ts_ms, level, message) VALUES ($1, $2, $3, $4)",
            (job_id, self.clock(), level, text(message)), job=job_id if held else None,
        )

    def trim_logs(self, job_id: JobId, keep: int) -> None:
        """Queue: drop all but the last `keep` log lines of a job."""
        self._submit(
            R_LOG_TRIM,
            "DELETE FROM logs WHERE job_id = $1 AND log_id <= (SELECT log_id FROM logs WHERE job_id = $2"
            " ORDER BY log_id DESC LIMIT 1 OFFSET $3)",
            (job_id, job_id, keep),
            key=job_id, job=job_id,
        )
