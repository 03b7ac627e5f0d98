"""One `ctx.items` call: skip the items done before, run the rest (retried, up to N at once), queue each outcome."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..kinds import Stop, StopKind
from ..model import JobId, auto_pause_reason
from ..store import DoneItems
from .lease import lease_clock
from .retry import Retry, call_with_retry, describe
from .tolerance import AllowFailures, check_allow_failures

if TYPE_CHECKING:
    from .jobrun import JobRun

current_item: ContextVar[str | None] = ContextVar("jobtui_item", default=None)
"""The key of the item whose function runs in this task (`ctx.idempotency_key` adds it)."""

_new = tuple.__new__
"""Makes an ItemOutcome from a full tuple of its fields without the Python frame of its `__new__` (hot path)."""

YIELD_EVERY = 64
"""Items between two yields to the event loop, so the group commit can run beside a busy loop."""
BREATHE_S = 0.002
"""The serial loop over a list yields to the event loop before an item once this long has passed since it last did
(lease_clock time, read before each item anyway), and every SERIAL_YIELD_EVERY items: fast items share one turn of
the loop (and one batch of the group commit) per ~2 ms; after a slow item that never awaits, the loop runs."""
SERIAL_YIELD_EVERY = 1024
MAX_UNCOMMITTED = 20_000
"""Queued writes past which an item loop waits for the group commit (back-pressure)."""


class ItemOutcome(NamedTuple):
    """What became of one item: its result (ok) or its error (after its retries).

    `replayed` is True when the item was done in an earlier run and its stored result is replayed
    (`replay=True`). Immutable; a named tuple, made once per item (a frozen dataclass costs more).
    """

    key: str
    item: Any
    ok: bool
    result: Any
    error: str | None
    attempts: int
    replayed: bool = False


def default_key(item: Any) -> str:
    """Return an item's key: itself for strings and numbers, its sorted JSON otherwise."""
    kind = type(item)
    if kind is str:
        return item  # type: ignore[no-any-return]
    if kind is int:
        return str(item)
    if isinstance(item, str):
        return item
    if isinstance(item, int | float) and not isinstance(item, bool):
        return str(item)
    return json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)


async def _aiter(iterable: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(iterable, AsyncIterable):
        async for x in iterable:
            yield x
    else:
        for x in iterable:
            yield x


class ItemsOwner(Protocol):
    """What an items loop reports to the Context that started it (engine/context.py)."""

    def _items_begun(self, failed_keys: set[str], iterated: set[str]) -> tuple[int, bool]: ...
    def _judge(self, call: int, allow: AllowFailures, errors: dict[str, str]) -> None: ...


class ItemLoop:
    """The state of one `items` call: which keys are done, failed and seen, its counters, its first errors."""

    def __init__(
        self, run: JobRun, index: int, fn: Callable[[Any], Awaitable[Any]], policy: Retry,
        key: Callable[[Any], str], *, replay: bool, total: int | None,
    ) -> None:
        self.run_ = run
        self.store = run.store
        self.job_id: JobId = run.job.job_id
        self.index = index
        self.fn = fn
        self.policy = policy
        self.key = key
        self.replay = replay
        self.total = total
        self.done_keys: set[str] = set()
        """Keys done before this call (loaded): not run again."""
        self.failed_keys: set[str] = set()
        self.n_done = 0
        self.n_failed = 0
        self.iterated: set[str] = set()
        """Every key of the iterable (done before or not): what the verdict counts against. A key given
        twice runs (or is replayed) once: the first time."""
        self.errors: dict[str, str] = {}
        """The first error of each failed key, for the verdict's message."""
        self.stored: dict[str, Any] = {}
        self.done = DoneItems()
        """Items done at their first attempt (the serial loop's), their rows made by the group commit that takes them."""
        self._watched = -1
        """The store's `batches` when this loop last queued its counters and progress: once per group commit."""
        self._progress = self.progress
        self._limit = run.job_type.auto_pause_after
        self._fresh_until = 0.0
        """The lease_clock() time until which the runner's lease is known to be its own (read again once past)."""

    async def load(self, *, fresh: bool) -> None:
        """Read which items are done or failed (nothing to read for a stage that never stored one)."""
        if not fresh:
            done, failed = await self.store.item_keys(self.job_id, self.index)
            self.done_keys |= done  # in place: the owner holds these sets for its verdict
            self.failed_keys |= failed
        self.n_done, self.n_failed = len(self.done_keys), len(self.failed_keys)
        if self.replay and self.done_keys:
            self.stored = await self.store.item_results(self.job_id, self.index)
        self.run_.follow_progress(self._progress)

    def progress(self) -> tuple[int, int | None, str]:
        """Return the job's progress as this loop tells it (done, total, message); read once per group commit."""
        total = str(self.total) if self.total is not None else "?"
        message = f"{self.n_done}/{total} items" + (f", {self.n_failed} failed" if self.n_failed else "")
        return self.n_done + self.n_failed, self.total, message

    def counters(self) -> tuple[int | None, int, int]:
        """Return (total, done, failed); read at the group commit that writes the item rows counted here."""
        return self.total, self.n_done, self.n_failed

    def record(self, o: ItemOutcome) -> None:
        """Queue an outcome's row and update the counters, the job's progress and its failures in a row.

        The counters and the progress are values read when the group commit takes its batch: queued
        once per batch (`store.batches`), never ahead of the item rows they count.
        """
        run, store, key = self.run_, self.store, o.key
        store.item_finished(self.job_id, self.index, key, o.ok, o.result, o.error, o.attempts)
        if o.ok:
            self.n_done += 1
            if self.failed_keys and key in self.failed_keys:
                self.n_failed -= 1
                self.failed_keys.discard(key)
                run.items_failed -= 1
            run.items_done += 1
            run.consecutive_failures = 0
        else:
            self._failed(o)
        # This loop's progress wins over a `ctx.progress` made between two items, as it did per item.
        run.progress_source = self._progress
        if store.batches != self._watched:
            self._watch()

    def _watch(self) -> None:
        """Queue this loop's counters and the job's progress for the batch the group commit takes next."""
        self._watched = self.store.batches
        self.store.items_done(self.job_id, self.index, self.done)
        self.store.watch_stage_counters(self.job_id, self.index, self.counters)
        self.run_.follow_progress(self._progress)

    def _failed(self, o: ItemOutcome) -> None:
        run = self.run_
        if o.key not in self.failed_keys:
            self.n_failed += 1
            self.failed_keys.add(o.key)
            run.items_failed += 1
        run.consecutive_failures += 1
        self.errors.setdefault(o.key, f"item {o.key}: {o.error}")
        run.log(f"item {o.key} failed after {o.attempts} attempt(s): {o.error}", "error")

    async def settle(self, o: ItemOutcome) -> None:
        """Record an outcome; past `auto_pause_after` failures in a row, commit and pause the job."""
        self.record(o)
        if not o.ok:
            await self._pause_if_due(o)

    async def _pause_if_due(self, o: ItemOutcome) -> None:
        """After a failed item: past `auto_pause_after` failures in a row, commit and pause the job."""
        if self._limit and self.run_.consecutive_failures >= self._limit:
            await self.store.commit_point()
            failures = self.run_.consecutive_failures
            raise Stop(StopKind.PAUSE, auto_pause_reason(failures, o.key, str(o.error)))

    async def _ready(self) -> None:
        """Before an item: wait for the lease to be confirmed, or the database to take writes, if need be."""
        run = self.run_
        self._fresh_until = run.runner.lease_fresh_until()
        if run.must_wait:
            await run.ready()
            self._fresh_until = run.runner.lease_fresh_until()

    async def one(self, k: str, item: Any) -> ItemOutcome:
        """Run the function on one item under its retry policy; return its outcome (never raise its error)."""
        # No new item while the lease may have lapsed or the database takes no writes (`run.must_wait`, with the
        # lease's deadline kept here: one clock read per item). A lost job stops at the request check before.
        if lease_clock() > self._fresh_until or self.store.stalled or self.run_.request is StopKind.LOST:
            await self._ready()
        token = current_item.set(k)
        try:
            # The first attempt is a plain call (the hot path); a failure goes on to the retry policy.
            return ItemOutcome(k, item, True, await self.fn(item), None, 1)
        except Exception as first:
            return await self._retried(k, item, first)
        finally:
            current_item.reset(token)

    async def _retried(self, k: str, item: Any, first: Exception) -> ItemOutcome:
        """Go on with an item whose first attempt failed with `first`, under its retry policy."""
        run = self.run_
        tries = 1
        failure: list[Exception] = [first]

        def on_retry(n: int, err: BaseException, delay: float) -> None:
            nonlocal tries
            tries = n + 1
            run.log(f"item {k}: attempt {n} failed ({describe(err)}); retrying in {delay:.1f}s", "warning")

        async def attempt() -> Any:
            if failure:
                raise failure.pop()  # the first attempt, replayed: the policy counts and waits as if it ran here
            return await self.fn(item)

        try:
            result, tries = await call_with_retry(attempt, self.policy, sleep=run.sleep, on_retry=on_retry)
            return ItemOutcome(k, item, True, result, None, tries)
        except Exception as e:
            # An error may carry a `result` to keep beside it (a command's exit code and output).
            return ItemOutcome(k, item, False, getattr(e, "result", None), run.clean(describe(e)), tries)

    def replayed(self, k: str, item: Any) -> ItemOutcome | None:
        """Return a done item's stored outcome to yield again (`replay=True`), or None."""
        if not self.replay or k not in self.stored:
            return None
        return ItemOutcome(k, item, True, self.stored[k], None, 0, replayed=True)

    def pending(self, k: str) -> bool | None:
        """Tell whether an item is to run now (True), was done before this call (False) or was given before in
        this call (None: neither run nor replayed again); count it as iterated."""
        if k in self.iterated:
            return None
        self.iterated.add(k)
        return k not in self.done_keys

    async def _next(self, item: Any) -> ItemOutcome | None:
        """Run one item of the serial loop if it is to run (or replay it); return the outcome to yield, if any.

        The serial loop's hot path: `pending` and `settle` written out, one coroutine less per item.
        """
        k = self.key(item)
        if k in self.iterated:
            return None
        self.iterated.add(k)
        if k in self.done_keys:
            return self.replayed(k, item)
        if self.run_.request is not None:
            self.run_.check()
        o = await self.one(k, item)
        self.record(o)
        if not o.ok:
            await self._pause_if_due(o)
        return o

    def run(self, iterable: Iterable[Any] | AsyncIterable[Any], workers: int, allow_failures: AllowFailures,
            owner: ItemsOwner) -> AsyncGenerator[ItemOutcome]:
        """Run the items (one at a time, or up to `workers` at once), yielding each outcome; then the verdict.

        Returns the generator itself (not one wrapping another): one hop less per item.
        """
        if workers <= 1 and not isinstance(iterable, AsyncIterable):
            return self._serial(iterable, allow_failures, owner)
        return self._general(iterable, workers, allow_failures, owner)

    async def _general(self, iterable: Iterable[Any] | AsyncIterable[Any], workers: int,
                       allow_failures: AllowFailures, owner: ItemsOwner) -> AsyncGenerator[ItemOutcome]:
        """Run the items of an async iterable one at a time, or of any iterable up to `workers` at once."""
        allow = check_allow_failures(allow_failures)
        call, fresh = owner._items_begun(self.failed_keys, self.iterated)
        await self.load(fresh=fresh)
        if workers <= 1:
            count = 0
            async for item in iterable if isinstance(iterable, AsyncIterable) else _aiter(iterable):
                if (o := await self._next(item)) is not None:
                    yield o
                    count += 1
                    if count % YIELD_EVERY == 0:
                        await self._breathe()
            await self.store.commit_point()
        else:
            async for o in self._parallel(iterable, workers):  # a task per item costs more than this hop
                yield o
        owner._judge(call, allow, self.errors)

    async def _serial(self, iterable: Iterable[Any], allow_failures: AllowFailures,
                      owner: ItemsOwner) -> AsyncGenerator[ItemOutcome]:
        """Run the items of a sync iterable one at a time, yielding each outcome once it is queued; then the verdict.

        jobtui's hottest loop (one job of 100,000 items): `_next`, `one` and `record` written out, so that an item
        costs no coroutine but its own function's.
        """
        allow = check_allow_failures(allow_failures)
        call, fresh = owner._items_begun(self.failed_keys, self.iterated)
        await self.load(fresh=fresh)
        run, store, fn, key = self.run_, self.store, self.fn, self.key
        iterated, done_keys, failed_keys = self.iterated, self.done_keys, self.failed_keys
        progress, add, plain = self._progress, self.done.add, key is default_key
        count = 0
        breath = lease_clock() + BREATHE_S
        for item in iterable:
            kind = type(item)  # default_key's first two cases written out
            k = item if kind is str and plain else str(item) if kind is int and plain else key(item)
            seen = len(iterated)
            iterated.add(k)
            if len(iterated) == seen:  # given before in this call: neither run nor replayed again
                continue
            if k in done_keys:
                if (again := self.replayed(k, item)) is None:
                    continue
                yield again
            else:
                now = lease_clock()
                if now >= breath:  # before the next item: a slow one that never awaits lets the loop run after it
                    await self._breathe()
                    now = lease_clock()
                    breath = now + BREATHE_S
                if run.request is not None:
                    run.check()
                # No new item while the lease may have lapsed or the database takes no writes (see `one`).
                if now > self._fresh_until or store.stalled:
                    await self._ready()
                token = current_item.set(k)
                try:
                    o = _new(ItemOutcome, (k, item, True, await fn(item), None, 1, False))
                except Exception as first:
                    o = await self._retried(k, item, first)
                finally:
                    current_item.reset(token)
                if o.attempts == 1 and o.ok and k not in failed_keys:  # `record` written out for the common case
                    if store.batches != self._watched:
                        self._watch()
                    add(k, o.result)  # its row is made when the group commit takes the batch
                    self.n_done += 1
                    run.items_done += 1
                    run.consecutive_failures = 0
                    run.progress_source = progress
                else:
                    self.record(o)
                    if not o.ok:
                        await self._pause_if_due(o)
                yield o
            count += 1
            if count % SERIAL_YIELD_EVERY == 0:  # items done before (replayed) read no clock
                await self._breathe()
        await store.commit_point()
        owner._judge(call, allow, self.errors)

    async def _breathe(self) -> None:
        """Every `YIELD_EVERY` items: let the group commit run beside a busy loop, or wait for it (back-pressure)."""
        if self.store.pending > MAX_UNCOMMITTED or len(self.done) > MAX_UNCOMMITTED:
            await self.store.commit_point()
        else:
            await asyncio.sleep(0)

    async def _parallel(self, iterable: Iterable[Any] | AsyncIterable[Any], workers: int) -> AsyncGenerator[ItemOutcome]:
        """Run up to `workers` items at once; outcomes that finish together are settled in launch order."""
        run, store = self.run_, self.store
        running: dict[asyncio.Task[ItemOutcome], int] = {}
        """Tasks in flight, by launch number."""
        seq = 0
        source = _aiter(iterable).__aiter__()
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < workers and run.request is None:
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    k = self.key(item)
                    todo = self.pending(k)
                    if todo:
                        running[asyncio.ensure_future(self.one(k, item))] = seq
                        seq += 1
                    elif todo is False and (again := self.replayed(k, item)) is not None:
                        yield again
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                # asyncio.wait returns a set: settle what finished together in launch order, so that
                # outcomes (and the count of consecutive failures) do not depend on set ordering.
                for t in sorted(finished, key=running.__getitem__):
                    del running[t]
                    o = t.result()
                    await self.settle(o)
                    yield o
                if store.pending > MAX_UNCOMMITTED:
                    await store.commit_point()
            await store.commit_point()
            if not exhausted:
                run.check()
        finally:
            for t in running:
                t.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
