"""The group commit: writes queued by many jobs committed together by one writer task.

Writes from the engine (stage ends, item results, progress, logs) are queued with `_submit` and
committed together by one writer task: many concurrent jobs share one transaction and one fsync.
A caller that needs durability awaits `commit_point()`, which returns once everything it queued
so far is committed. A short transaction of its own (a claim) may `ride` the next group commit: it runs
after the queued statements, in a savepoint of the same transaction, and shares its one fsync.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..kinds import StopKind
from ..model import JobId
from .batch import Batch as _Batch
from .dbfile import _explain, describe_exc, is_transient_db_error
from .seam import Db, SqliteDb

log = logging.getLogger("jobtui.store")

NOT_RUN: Any = object()
"""What `ride` returns when the group commit it rode did not commit (its body's work is undone or never ran)."""

LAZY_S = 0.05
"""The longest a write nobody waits for (a started command's pid) waits for another write to ride with."""

Rider = tuple[Callable[[Db], Awaitable[Any]], "asyncio.Future[Any]"]
"""A transaction of its own that rides the next group commit: its body, and the future told its outcome."""
Outcomes = list[tuple["asyncio.Future[Any]", Any, BaseException | None]]
"""Each ridden body's future, with its result or its error."""


class GroupCommit:
    """The queue of writes and the writer task that commits them in groups (a mixin of StoreCore)."""

    _conn: Db
    path: Path
    claims_ride = False
    """Whether a claim rides the group commit (`ride`) instead of taking a transaction of its own (SQLite: its one
    writer makes them take turns anyway, so sharing the commit saves an fsync per claim)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._batch = _Batch()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._flushing = False
        self._inflight: _Batch | None = None
        """The batch a group commit took and is committing (its waiters hear of its outcome)."""
        self._closing = asyncio.Event()
        self._stalled_since: float | None = None
        self.stalled = False
        """Whether the last group commit failed on a passing condition and its writes wait to be retried (an
        attribute, not a property: an items loop reads it before each item)."""
        self._stall_said = -1e9
        self.fence: str | None = None
        """A runner id: while set, a group commit writes for a job only while this runner holds its lease."""
        self.on_dropped: Callable[[set[JobId], StopKind, str], None] | None = None
        """Told of jobs whose queued writes were dropped, why and the database's error: reason 'lost'
        (another runner holds the job; they stop at their last checkpoint) or 'store' (the database
        refused them for good: only these jobs, the commit was retried job by job; they fail)."""
        self.commits = 0
        """Group commits made, for benchmarks."""
        self.batches = 0
        """Batches taken by the group commit so far: writes queued while it stays the same join one batch, so a
        loop that queues a row per item queues its counters (`watch_*`, read when the batch is taken) once per
        batch, not per item. (A batch put back after a failed commit absorbs the one queued since, with its
        `watch_*` rows.)"""
        self._lazy: asyncio.TimerHandle | None = None
        """The timer that commits lazy writes no other write took along (`_submit(lazy=True)`)."""
        self._riders: list[Rider] = []
        """Transactions of their own that run inside the next group commit (`ride`)."""

    @property
    def location(self) -> str:
        """Where the data is, fit to show (each backend says)."""
        raise NotImplementedError

    def _transient_error(self, exc: BaseException) -> bool:
        """Tell whether an error the group commit met is passing (keep the batch and retry) for this backend."""
        return is_transient_db_error(exc)

    async def _rollback(self) -> None:
        """Roll back the open transaction, if any; a failure here changes nothing worth reporting."""
        try:
            await self._conn.rollback()
        except sqlite3.Error:
            pass

    def _submit(self, rank: int, sql: str, params: Sequence[Any], key: Any = None, job: JobId | None = None, *,
                lazy: bool = False) -> None:
        """Queue one statement of `job` for the next group commit; with `key`, a later one replaces it.

        A `lazy` one (nobody waits for it) does not start a commit of its own: it joins the next one, at the latest
        LAZY_S later."""
        if self._closed:
            raise StoreError("store is closed")
        batch = self._batch
        if key is None:
            by_sql = batch.ops.get(rank)
            if by_sql is None:
                by_sql = batch.ops[rank] = {}
            entry = by_sql.get(sql)
            if entry is None:
                by_sql[sql] = ([job], [params])
            else:
                entry[0].append(job)
                entry[1].append(params)
            batch.size += 1
        else:
            by_key = batch.keyed.get(rank)
            if by_key is None:
                by_key = batch.keyed[rank] = {}
            keyed = by_key.get(sql)
            if keyed is None:
                keyed = by_key[sql] = {}
            if key not in keyed:
                batch.size += 1
            keyed[key] = (job, params)
        # Hot path (several calls per stage and per item): once woken, the writer runs soon anyway.
        if not self._wake.is_set():
            if lazy:
                if self._lazy is None:
                    self._lazy = asyncio.get_running_loop().call_later(LAZY_S, self._wake_lazy)
                return
            self._ensure_writer()
            self._wake.set()

    def _wake_lazy(self) -> None:
        """Commit the lazy writes queued LAZY_S ago, should no other write have started a commit since."""
        self._lazy = None
        if self._batch.size and not self._closed:
            self._ensure_writer()
            self._wake.set()

    def _latest(self, rank: int, sql: str, key: Any, job: JobId | None, read: Callable[[], Sequence[Any]]) -> None:
        """Queue a keyed row whose values `read` returns when the next group commit takes the batch.

        For rows that change many times between two commits (item counters, progress): once queued,
        a change costs nothing here; the values are read once per commit.
        """
        batch = self._batch
        if key in batch.latest:
            return
        if self._closed:
            raise StoreError("store is closed")
        batch.latest[key] = (rank, sql, job, read)
        batch.size += 1
        if not self._wake.is_set():
            self._ensure_writer()
            self._wake.set()

    def _later(self, rank: int, job: JobId | None, make: Callable[[], list[tuple[str, list[Sequence[Any]]]]]) -> None:
        """Queue the (statement, rows) that `make` returns when the next group commit takes the batch (maybe none).

        For rows queued one by one at a high rate (the items of a loop): what is queued per row costs nothing
        here; the rows are made once per commit.
        """
        if self._closed:
            raise StoreError("store is closed")
        batch = self._batch
        batch.later.append((rank, job, make))
        batch.size += 1
        if not self._wake.is_set():
            self._ensure_writer()
            self._wake.set()

    def _unqueue(self, rank: int, sql: str, key: Any) -> Sequence[Any] | None:
        """Take back a keyed statement not yet taken by a group commit; return its params (None: none such)."""
        keyed = self._batch.keyed.get(rank, {}).get(sql)
        if not keyed:
            return None
        entry = keyed.pop(key, None)
        if entry is None:
            return None
        self._batch.size -= 1
        return entry[1]

    def _ensure_writer(self) -> None:
        """Start the writer task, or start it again should it ever have ended."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="jobtui-store-writer")

    @property
    def pending(self) -> int:
        """Return how many statements wait for the next group commit."""
        return self._batch.size

    async def commit_point(self) -> None:
        """Return once everything queued so far is committed.

        While the database is busy, locked by another process or its disk is full, this waits (the
        writes stay queued and are retried); it does not fail for that.

        Raises:
            StoreError: the group commit that held these writes failed for good (the writes were
                dropped and the jobs they belonged to were told through `on_dropped`).
        """
        if self._batch.size == 0 and not self._flushing and not self.stalled:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Nothing queued since a commit took its batch: this waiter hears how that commit ends.
        inflight = self._inflight if self._batch.size == 0 else None
        (inflight or self._batch).waiters.append(fut)
        self._ensure_writer()
        self._wake.set()
        await fut

    async def ride(self, body: Callable[[Db], Awaitable[Any]]) -> Any:
        """Run `body` inside the next group commit, after its queued statements; return its result once committed.

        The body runs in a savepoint: should it raise, its statements are undone, the others' commit, and
        its error is raised here. Returns NOT_RUN when that group commit did not commit (a busy database,
        a refused write): then nothing of the body is in the database, and the caller may try again.
        """
        return await self.ride_soon(body)

    def ride_soon(self, body: Callable[[Db], Awaitable[Any]]) -> asyncio.Future[Any]:
        """Queue `body` for the next group commit now (see `ride`); return the future of its outcome.

        Queued before its caller yields, it joins the commit of what was queued before it: the writer takes
        the batch as soon as it runs.
        """
        if self._closed:
            raise StoreError("store is closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._riders.append((body, fut))
        self._ensure_writer()
        self._wake.set()
        return fut

    @staticmethod
    def _settle_riders(riders: Sequence[Rider], outcomes: Outcomes | None) -> None:
        """Give each rider its outcome once the commit succeeded (`outcomes`), else NOT_RUN."""
        for fut, result, error in outcomes or ():
            if fut.done():
                continue
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)
        for _body, fut in riders:
            if not fut.done():
                fut.set_result(NOT_RUN)

    def _dropped(self, jobs: set[JobId | None], reason: StopKind, error: str = "") -> None:
        """Tell the owner of `jobs` that their queued writes were dropped; never let its error stop the writer."""
        hook = self.on_dropped
        real = {j for j in jobs if j is not None}
        if hook is None or not real:
            return
        try:
            hook(real, reason, error)
        except Exception:
            log.exception("the handler of dropped writes failed")

    async def _write_loop(self) -> None:
        """Commit queued statements in groups, for as long as the store is open.

        Any failure is handled here and the loop lives on: a passing condition (busy, locked, disk
        full, I/O) keeps the batch queued and retries it with backoff; anything else rolls back and
        retries the batch job by job (`_isolate`), so that only the jobs whose writes the database
        refuses lose them (their owner is told through `on_dropped`).
        """
        delay = 0.0
        while True:
            if delay:
                try:
                    await asyncio.wait_for(self._closing.wait(), delay)
                except TimeoutError:
                    pass
            else:
                await self._wake.wait()
            self._wake.clear()
            try:
                delay = await self._flush(delay)
            except asyncio.CancelledError:
                raise
            except BaseException:  # a bug here must not end the writer: every commit after would hang
                log.exception("group commit: unexpected failure; retrying")
                delay = 1.0

    async def _flush(self, delay: float) -> float:
        """Try one group commit; return how long to wait before the next try (0: until woken)."""
        async with self._lock:
            if self._batch.size == 0 and not self._riders:
                batch = self._take()
                self._recovered(0)
                for w in batch.waiters:
                    if not w.done():
                        w.set_result(None)
                return 0.0
            self._flushing = True
            taken: _Batch | None = None
            lost: set[JobId | None] = set()
            riders: list[Rider] = []
            outcomes: Outcomes | None = None
            try:
                taken = self._inflight = self._take()
                riders, self._riders = self._riders, []
                lost, ridden = await self._commit_batch(taken, riders)
                outcomes = ridden
            except asyncio.CancelledError:
                await self._rollback()
                if taken is not None:
                    self._requeue(taken)
                raise
            except Exception as e:
                await self._rollback()
                if self._transient_error(e):
                    # A passing condition: keep every write, in order, and tell the waiters nothing yet.
                    if taken is not None:
                        self._requeue(taken)
                    self._stalling(e)
                    return min(2.0, max(0.05, delay * 2))
                batch = taken if taken is not None else self._take()
                if taken is not None:
                    # One job's write may poison a commit its neighbours share: retry them apart; a
                    # write is refused for good only if it fails again, alone.
                    return await self._isolate(batch, delay)
                error = self._refusal(e)
                affected = batch.jobs()
                # Writes of these jobs queued after the lost ones build on them (counters): drop them too.
                self._batch.purge(affected)
                log.error("group commit failed; %d write(s) of job(s) %s dropped: %s", batch.size,
                          _ids(affected), error)
                self._dropped(affected, StopKind.STORE, str(error))
                for w in batch.waiters:
                    if not w.done():
                        w.set_exception(error)
                return 0.0
            finally:
                self._flushing = False
                self._inflight = None
                self._settle_riders(riders, outcomes)
            self.commits += 1
            self._recovered(taken.size)
            self._lost(lost)
            for w in taken.waiters:
                if not w.done():
                    w.set_result(None)
            return 0.0

    async def _commit_batch(self, batch: _Batch, riders: Sequence[Rider] = ()) -> tuple[set[JobId | None], Outcomes]:
        """Commit a taken batch, then the riders, in one transaction (the caller holds the lock and rolls back on
        failure); return the jobs whose writes were left out because this runner no longer holds them, and the
        riders' outcomes."""
        fence = self.fence

        async def body(db: Db) -> tuple[set[JobId | None], Outcomes]:
            plan, lost = batch.plan(await _allowed(db, fence))
            for sql, rows in plan:
                await db.executemany(sql, rows)
            return lost, await _run_riders(db, riders, self._refusal)

        if isinstance(self._conn, SqliteDb):
            # One call on the connection's thread: a busy event loop (a TUI drawing) never holds the write lock.
            return await self._conn.atomically(body)
        await self._conn.begin()
        lost = await body(self._conn)
        await self._conn.commit()
        return lost

    def _lost(self, lost: set[JobId | None]) -> None:
        """Drop what is queued for jobs this runner no longer holds, and tell their owner."""
        if lost:
            self._batch.purge(lost)
            log.warning("writes of job(s) %s refused: runner %s no longer holds them", _ids(lost), self.fence)
            self._dropped(lost, StopKind.LOST)

    def _refusal(self, exc: BaseException) -> StoreError:
        """Return the StoreError that tells a write was refused for good, with its cause."""
        text = _explain(exc, self.path) if isinstance(exc, sqlite3.Error) else describe_exc(exc)
        error = StoreError(f"group commit failed: {text}")
        error.__cause__ = exc
        return error

    async def _isolate(self, batch: _Batch, delay: float) -> float:
        """Commit a refused batch job by job (under the lock): only the jobs whose writes are refused lose them.

        Returns how long to wait before the next group commit, as `_flush` does.
        """
        parts = batch.split()
        refused: dict[JobId | None, StoreError] = {}
        lost: set[JobId | None] = set()
        for n, (job, part) in enumerate(parts.items()):
            try:
                lost |= (await self._commit_batch(part))[0]
            except asyncio.CancelledError:
                await self._rollback()
                self._requeue(_Batch.joined(list(parts.values())[n:], batch.waiters))
                self._lost(lost)
                raise
            except Exception as e:
                await self._rollback()
                if self._transient_error(e):
                    # A passing condition now: what is left waits, in order, with every waiter.
                    self._requeue(_Batch.joined(list(parts.values())[n:], batch.waiters))
                    self._lost(lost)
                    self._stalling(e)
                    return min(2.0, max(0.05, delay * 2))
                refused[job] = self._refusal(e)
        self.commits += 1
        self._recovered(batch.size)
        self._lost(lost)
        for job, error in refused.items():
            self._batch.purge({job})
            log.error("group commit: the database refused %d write(s) of job %s for good (the other jobs'"
                      " writes committed): %s", parts[job].size, "-" if job is None else job, error)
            self._dropped({job}, StopKind.STORE, str(error))
        # The waiters hear of a refusal when nothing was committed, or writes of no job (None) were
        # refused: nobody else would be told. Otherwise the refused jobs' owner was told (on_dropped).
        orphan = refused.get(None) or (next(iter(refused.values())) if len(refused) == len(parts) else None)
        for w in batch.waiters:
            if not w.done():
                if orphan is None:
                    w.set_result(None)
                else:
                    w.set_exception(orphan)
        return 0.0

    def _take(self) -> _Batch:
        """Take the queued batch for a commit (its `latest` rows read now, in step with the rows queued so far)."""
        batch, self._batch = self._batch, _Batch()
        self.batches += 1
        batch.freeze()
        return batch

    def _requeue(self, batch: _Batch) -> None:
        """Put a batch that did not commit back in front of what was queued since."""
        batch.absorb(self._batch)
        self._batch = batch

    def _stalling(self, exc: BaseException) -> None:
        """Say (once, then every 30 s) that writes wait for a passing condition of the database."""
        now = time.monotonic()
        if self._stalled_since is None:
            self._stalled_since = now
            self.stalled = True
        if now - self._stall_said >= 30.0:
            self._stall_said = now
            log.warning("waiting for the database (%s): %d write(s) queued, retrying",
                        _explain(exc, self.location), self._batch.size)

    def _recovered(self, size: int) -> None:
        if self._stalled_since is not None:
            log.warning("database writable again after %.1fs: %d queued write(s) committed",
                        time.monotonic() - self._stalled_since, size)
            self._stalled_since = None
            self.stalled = False
            self._stall_said = -1e9



async def _allowed(db: Db, fence: str | None) -> set[JobId | None] | None:
    """Return the jobs a store fenced to runner `fence` may write for now (None: any), inside the transaction."""
    if fence is None:
        return None
    # Write for a job only while this runner holds its lease: a runner that froze and was taken
    # for dead must not write over the work of the runner that took its jobs. The rows stay locked
    # (PostgreSQL: FOR NO KEY UPDATE, in id order) until the commit: no claim, recovery or request
    # moves them between this check and the writes; other jobs' writers never wait on them.
    owned = await db.execute_fetchall(
        f"SELECT job_id FROM jobs WHERE lease_owner = $1 ORDER BY job_id{db.dialect.lock_own}", (fence,))
    allowed: set[JobId | None] = {r[0] for r in owned}
    allowed.add(None)
    return allowed


async def _run_riders(db: Db, riders: Sequence[Rider], refusal: Callable[[BaseException], StoreError]) -> Outcomes:
    """Run the riders' bodies, each in its own savepoint of the open transaction; return their outcomes."""
    out: Outcomes = []
    for body, fut in riders:
        if fut.done():  # its caller was cancelled: nothing to run
            continue
        await db.execute("SAVEPOINT jobtui_ride")
        try:
            result = await body(db)
        except Exception as e:
            await db.execute("ROLLBACK TO jobtui_ride")
            await db.execute("RELEASE jobtui_ride")
            out.append((fut, None, refusal(e) if isinstance(e, sqlite3.Error) else e))
            continue
        await db.execute("RELEASE jobtui_ride")
        out.append((fut, result, None))
    return out


def _ids(jobs: set[JobId | None]) -> str:
    return ", ".join(str(j) for j in sorted(j for j in jobs if j is not None)) or "-"

