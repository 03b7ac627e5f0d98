"""One `ctx.items` call: skip the items done before, run the rest (retried, up to N at once), queue each outcome."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..kinds import Stop, StopKind
from ..model import JobId, auto_pause_reason
from .retry import Retry, call_with_retry, describe
from .tolerance import AllowFailures, check_allow_failures

if TYPE_CHECKING:
    from .jobrun import JobRun

current_item: ContextVar[str | None] = ContextVar("jobtui_item", default=None)
"""The key of the item whose function runs in this task (`ctx.idempotency_key` adds it)."""

YIELD_EVERY = 64
"""Items between two yields to the event loop, so the group commit can run beside a busy loop."""
MAX_UNCOMMITTED = 20_000
"""Queued writes past which an item loop waits for the group commit (back-pressure)."""


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What became of one item: its result (ok) or its error (after its retries)."""

    key: str
    item: Any
    ok: bool
    result: Any
    error: str | None
    attempts: int
    replayed: bool = False
    """True when the item was done in an earlier run and its stored result is replayed (`replay=True`)."""


def default_key(item: Any) -> str:
    """Return an item's key: itself for strings and numbers, its sorted JSON otherwise."""
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
        self.failed_keys: set[str] = set()
        self.n_done = 0
        self.n_failed = 0
        self.seen: set[str] = set()
        """Keys run (or replayed) by this call: a key given twice runs once."""
        self.iterated: set[str] = set()
        """Every key of the iterable (done before or not): what the verdict counts against."""
        self.errors: dict[str, str] = {}
        """The first error of each failed key, for the verdict's message."""
        self.stored: dict[str, Any] = {}

    async def load(self, *, fresh: bool) -> None:
        """Read which items are done or failed (nothing to read for a stage that never stored one)."""
        if not fresh:
            done, failed = await self.store.item_keys(self.job_id, self.index)
            self.done_keys |= done  # in place: the owner holds these sets for its verdict
            self.failed_keys |= failed
        self.n_done, self.n_failed = len(self.done_keys), len(self.failed_keys)
        if self.replay and self.done_keys:
            self.stored = await self.store.item_results(self.job_id, self.index)
        self.run_.set_progress(self.n_done + self.n_failed, self.total, f"{self.n_done}/{self._total_text()} items")

    def _total_text(self) -> str:
        return str(self.total) if self.total is not None else "?"

    def counters(self) -> tuple[int | None, int, int]:
        """Return (total, done, failed); read at the group commit that writes the item rows counted here."""
        return self.total, self.n_done, self.n_failed

    def record(self, o: ItemOutcome) -> None:
        """Queue an outcome's row and update the counters, the job's progress and its failures in a row."""
        run = self.run_
        was_failed = o.key in self.failed_keys
        self.store.item_finished(self.job_id, self.index, o.key, o.ok, o.result, o.error, o.attempts)
        if o.ok:
            self.n_done += 1
            self.done_keys.add(o.key)
            if was_failed:
                self.n_failed -= 1
                self.failed_keys.discard(o.key)
                run.items_failed -= 1
            run.items_done += 1
            run.consecutive_failures = 0
        else:
            if not was_failed:
                self.n_failed += 1
                self.failed_keys.add(o.key)
                run.items_failed += 1
            run.consecutive_failures += 1
            self.errors.setdefault(o.key, f"item {o.key}: {o.error}")
            run.log(f"item {o.key} failed after {o.attempts} attempt(s): {o.error}", "error")
        self.store.watch_stage_counters(self.job_id, self.index, self.counters)
        message = f"{self.n_done}/{self._total_text()} items" + (f", {self.n_failed} failed" if self.n_failed else "")
        run.set_progress(self.n_done + self.n_failed, self.total, message)

    async def settle(self, o: ItemOutcome) -> None:
        """Record an outcome; past `auto_pause_after` failures in a row, commit and pause the job."""
        self.record(o)
        run = self.run_
        limit = run.job_type.auto_pause_after
        if limit and run.consecutive_failures >= limit:
            await self.store.commit_point()
            raise Stop(StopKind.PAUSE, auto_pause_reason(run.consecutive_failures, o.key, str(o.error)))

    async def one(self, k: str, item: Any) -> ItemOutcome:
        """Run the function on one item under its retry policy; return its outcome (never raise its error)."""
        run = self.run_
        if run.must_wait:
            # No new item while the lease may have lapsed or the database takes no writes.
            await run.ready()
        token = current_item.set(k)
        tries = 1

        def on_retry(n: int, err: BaseException, delay: float) -> None:
            nonlocal tries
            tries = n + 1
            run.log(f"item {k}: attempt {n} failed ({describe(err)}); retrying in {delay:.1f}s", "warning")

        try:
            result, tries = await call_with_retry(lambda: self.fn(item), self.policy, sleep=run.sleep,
                                                  on_retry=on_retry)
            return ItemOutcome(k, item, True, result, None, tries)
        except Exception as e:
            # An error may carry a `result` to keep beside it (a command's exit code and output).
            return ItemOutcome(k, item, False, getattr(e, "result", None), run.clean(describe(e)), tries)
        finally:
            current_item.reset(token)

    def replayed(self, k: str, item: Any) -> ItemOutcome | None:
        """Return a done item's stored outcome to yield again (`replay=True`), or None."""
        if not self.replay or k not in self.stored or k in self.seen:
            return None
        self.seen.add(k)
        return ItemOutcome(k, item, True, self.stored[k], None, 0, replayed=True)

    def pending(self, k: str) -> bool:
        """Tell whether an item is to run now (not done before, not seen in this call); count it as iterated."""
        self.iterated.add(k)
        if k in self.done_keys or k in self.seen:
            return False
        self.seen.add(k)
        return True

    async def run(self, iterable: Iterable[Any] | AsyncIterable[Any], workers: int, allow_failures: AllowFailures,
                  owner: ItemsOwner) -> AsyncGenerator[ItemOutcome]:
        """Run the items (one at a time, or up to `workers` at once), yielding each outcome; then the verdict."""
        allow = check_allow_failures(allow_failures)
        call, fresh = owner._items_begun(self.failed_keys, self.iterated)
        await self.load(fresh=fresh)
        run, store = self.run_, self.store
        if workers <= 1:
            count = 0
            async for item in _aiter(iterable):
                k = self.key(item)
                if not self.pending(k):
                    again = self.replayed(k, item)
                    if again is not None:
                        yield again
                    continue
                run.check()
                o = await self.one(k, item)
                await self.settle(o)
                yield o
                count += 1
                if store.pending > MAX_UNCOMMITTED:
                    await store.commit_point()
                elif count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            await store.commit_point()
        else:
            async for o in self._parallel(iterable, workers):  # a task per item costs more than this hop
                yield o
        owner._judge(call, allow, self.errors)

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
                    if self.pending(k):
                        running[asyncio.ensure_future(self.one(k, item))] = seq
                        seq += 1
                    elif (again := self.replayed(k, item)) is not None:
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
