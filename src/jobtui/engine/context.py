"""The Context a stage receives: params, earlier outputs, checkpoints, items, progress, log."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import storable
from ..errors import ItemsFailedError, PermanentError
from ..kinds import StopKind
from ..model import PAUSED_BY_REQUEST, FileRecord, JobId
from ..private import UnsafePathError, private_subdir
from .items import ItemLoop, ItemOutcome, current_item, default_key
from .retry import Retry
from .tolerance import AllowFailures, verdict

if TYPE_CHECKING:
    from .definition import Stage
    from .jobrun import JobRun
    from .process import Processes

__all__ = ["Context", "ItemOutcome", "default_key"]


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class Context:
    """What one attempt of one stage sees of its job. Passed to every stage function."""

    def __init__(
        self, run: JobRun, index: int, stage: Stage, attempt: int, generation: int, state: Any, *, fresh: bool = False
    ) -> None:
        self._run = run
        self._fresh = fresh
        self._stage = stage
        self.stage_index = index
        """The stage's position, from 0."""
        self.attempt = attempt
        """Which run of this stage this is, from 1 (`$JOBTUI_ATTEMPT` for a command; RUNS in `show`).

        Every start of the stage counts: a retry, an automatic retry of the job, a resume after it
        failed, and a restart after a pause, a crash or a shutdown (the stage may have run partly
        before: `attempt > 1` means "look for what an earlier run left"). It is never reset, not by
        a resume nor by a rewind. The retry budget of the current run is apart (TRY n/m in `show`).
        """
        self._generation = generation
        self._state = state
        self._processes: Processes | None = None
        self.tolerated: str | None = None
        """What this attempt's `items` calls accepted as failed (`allow_failures`), or None."""
        self._unjudged: dict[int, tuple[set[str], set[str]]] = {}
        self._calls = 0
        self._refused: ItemsFailedError | None = None
        """(failed keys, keys seen) of each `items` call that has not reached its verdict (yet)."""

    @property
    def processes(self) -> Processes:
        """Return the supervisor that starts this stage's commands (own process group, recorded, ended safely)."""
        if self._processes is None:
            from .process import Processes

            self._processes = Processes(self)
        return self._processes

    # ---------------------------------------------------------------------------------- reading
    @property
    def job_id(self) -> JobId:
        """Return the job's id."""
        return self._run.job.job_id

    @property
    def params(self) -> dict[str, Any]:
        """Return the job's params (validated, defaults filled in)."""
        return self._run.job.params

    @property
    def queue(self) -> str | None:
        """Return the queue the job runs under (None: none)."""
        return self._run.job.queue

    @property
    def slot(self) -> int | None:
        """Return the job's slot in its queue (`queue add --slots`): no other running job of the queue
        has it (on this runner, for a `--per-runner` queue), e.g. the GPU to use; None: no slot."""
        return self._run.job.slot

    @property
    def outputs(self) -> dict[str, Any]:
        """Return the outputs of the stages before this one, by stage name."""
        return self._run.outputs

    @property
    def stage(self) -> str:
        """Return this stage's name."""
        return self._stage.name

    @property
    def state(self) -> Any:
        """Return this stage's last checkpoint state (None before the first)."""
        return self._state

    @property
    def resume_count(self) -> int:
        """Return how often the job was resumed by a person."""
        return self._run.job.resume_count

    @property
    def stopping(self) -> bool:
        """Tell whether pause, cancel or shutdown was asked: a long loop should reach a checkpoint soon."""
        return self._run.request is not None

    @property
    def idempotency_key(self) -> str:
        """Return a key that is the same each time this stage (or, inside `items`, this item) runs again.

        Pass it to external services so that a redone attempt after a crash is not done twice there.
        A rewind starts a new generation and so a new key.
        """
        base = f"jobtui-{self.job_id}-{self.stage}-g{self._generation}"
        item = current_item.get()
        return base if item is None else f"{base}-{item}"

    @property
    def workspace(self) -> Path:
        """Return the job's folder for large stage data (private to the user; removed with the job)."""
        path = self._run.workspace
        try:
            # Never through a symlink, never in another user's folder: the database's folder may be shared.
            return private_subdir(path.parent, path.name)
        except UnsafePathError as e:
            raise PermanentError(f"workspace refused: {e}") from None

    async def track(self, path: str | Path) -> FileRecord:
        """Record a file this stage keeps (by path, size and sha256), as part of its next checkpoint.

        Files inside `workspace` are recorded by their path relative to it; `show` lists them.
        """
        p = Path(path)
        if not p.is_absolute():
            p = self.workspace / p
        size, digest = await asyncio.to_thread(_hash_file, p)
        try:
            name = str(p.resolve().relative_to(self._run.workspace.resolve()))
        except ValueError:
            name = str(p.resolve())
        self._run.store.file_tracked(self.job_id, self.stage_index, name, size, digest)
        return FileRecord(name, self.stage_index, size, digest, self._run.store.clock())

    async def results(self, stage: str | None = None) -> dict[str, Any]:
        """Return the committed item results of a stage (default: this one), by item key.

        `items` yields only the items it runs now; after a resume, aggregate over this instead.
        """
        index = self.stage_index if stage is None else self._run.job_type.stage_index_for(self.params, stage)
        await self._run.store.commit_point()
        return await self._run.store.item_results(self.job_id, index)

    # ---------------------------------------------------------------------------------- writing
    def log(self, message: str, level: str = "info") -> None:
        """Add a line to the job's log (secret param values are blanked)."""
        self._run.log(str(message), level)

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report progress within this stage (shown in the list, the detail and `show`).

        Numbers are clamped to 0..2^63-1 (what a database column holds).
        """
        self._run.set_progress(storable.count(int(done)), None if total is None else storable.count(int(total)),
                               message)

    async def checkpoint(self, state: Any = None, *, safe_point: bool = True) -> None:
        """Commit `state` (if given) as this stage's resume point, then act on pause or cancel.

        After a crash, pause or shutdown the stage runs again with `ctx.state` set to the last
        committed state. This is a safe point, unless `safe_point=False` (commit only: for a stage
        that reacts to pause and cancel itself, such as a command's).

        Raises:
            UnstorableError: `state` holds NaN or an infinity, nests deeper than 64 levels, or is not JSON.
        """
        if state is not None:
            storable.check_json(state)
            self._state = state
            self._run.states[self.stage_index] = state
            self._run.store.stage_state(self.job_id, self.stage_index, state)
        await self._run.store.commit_point()
        if safe_point:
            self._run.check()
            if self._run.must_wait:
                await self._run.ready()

    async def hold(self, reason: str = PAUSED_BY_REQUEST) -> None:
        """On a pause request, pause the job while this stage keeps its resources; return once resumed.

        For a stage that can suspend its work in place (a command frozen with SIGSTOP): the job shows
        as paused (and held by this runner, so no other runner starts it); `resume` returns from this
        call. Cancel, delete, rewind and runner shutdown raise instead (release what you hold in a
        `finally`); the stage then runs again from its last checkpoint on resume. Without a pause
        request this is an ordinary safe point.
        """
        await self._run.hold(reason)

    @property
    def request(self) -> StopKind | None:
        """Return what was asked of the job (a StopKind, equal to 'pause', 'cancel', 'shutdown' or 'lost'), or None."""
        return self._run.request

    def output(self, line: str, stream: str = "stdout", *, limit: int | None = None) -> bool:
        """Log one line of a command's output, marked with its stream; False once the job's cap is hit.

        Output is capped per job in bytes of UTF-8 (`limit`, else `Runner(output_limit=...)`, default
        8 MiB), counting what earlier runs logged once `output_count()` was awaited; past it, lines are
        counted and dropped, and `output_note()` tells how many.
        """
        run = self._run
        size = (len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))) + 1
        limit = run.runner.options.output_limit if limit is None else limit
        run.output_limit = limit
        if run.output_bytes + size > limit:
            run.output_dropped += 1
            run.output_dropped_bytes += size
            return False
        run.output_bytes += size
        run.log(line, stream)
        if run.output_loaded:
            run.store.watch_output(run.job.job_id, run.output_total)
        return True

    async def output_count(self) -> int:
        """Return the bytes of output logged for this job so far, earlier runs included (read once from the store).

        Await it before the first `output` of a run, so that the cap holds across resumes and recoveries.
        """
        run = self._run
        if not run.output_loaded:
            run.output_loaded = True
            claimed = run.output_claimed
            run.output_bytes += claimed if claimed is not None else await run.store.output_bytes(self.job_id)
        return run.output_bytes

    def output_note(self) -> str | None:
        """Return a note of the output dropped past the cap so far, or None if nothing more was dropped since the last."""
        run = self._run
        if run.output_dropped == run.output_noted:
            return None
        run.output_noted = run.output_dropped
        return (f"output cap of {run.output_limit} bytes reached: dropped {run.output_dropped} line(s),"
                f" {run.output_dropped_bytes} bytes")

    async def until_stopped(self) -> None:
        """Return once pause, cancel or shutdown is asked: race it against a wait that may hang.

        For example `asyncio.wait({read_task, asyncio.ensure_future(ctx.until_stopped())}, ...)`,
        then `await ctx.checkpoint()` to stop at once instead of at the end of the grace period.
        """
        await self._run.until_stop()

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking at once for pause, cancel or shutdown (a safe point)."""
        await self._run.sleep(seconds)

    # ------------------------------------------------------------------------------------ items
    def _judge(self, call: int, allow: AllowFailures, errors: dict[str, str]) -> None:
        """Fail the stage when more items of an `items` call failed than it allows; log what it tolerated."""
        failed_keys, iterated = self._unjudged.pop(call)
        failed = failed_keys & iterated
        first = next((text for k, text in errors.items() if k in failed), None)
        try:
            note = verdict(len(failed), len(iterated), allow, first)
        except ItemsFailedError as e:
            self._refused = e
            raise
        if note is not None:
            self.tolerated = note if self.tolerated is None else f"{self.tolerated}; {note}"
            self._run.log(f"{note}; the stage goes on", "warning")

    def settle(self) -> None:
        """Raise ItemsFailedError for failed items of an `items` loop the stage left before its end.

        The runner calls it when the stage returns: items that failed for good are never dropped
        silently, even by a stage that broke out of the loop or caught the error.
        """
        if self._refused is not None:
            raise self._refused
        failed = sum(len(f & seen) for f, seen in self._unjudged.values())
        total = sum(len(seen) for _f, seen in self._unjudged.values())
        self._unjudged.clear()
        if failed:
            raise ItemsFailedError(failed, total, "the stage ended before its items loop did")

    def items(
        self,
        iterable: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Awaitable[Any]],
        *,
        key: Callable[[Any], str] | None = None,
        workers: int = 1,
        retry: Retry | None = None,
        replay: bool = False,
        allow_failures: AllowFailures = None,
    ) -> AsyncGenerator[ItemOutcome]:
        """Run `fn` on each item not yet done; yield each outcome once it is queued for commit.

        Items done in an earlier run are not run again and, by default, not yielded either; with
        `replay=True` they are yielded too, with their stored result and `replayed=True`, so that a
        loop that aggregates sees every item after a resume (or read `await ctx.results()`).

        Each item's result and its done mark commit together in one row. Items done in an earlier
        run are skipped; failed ones run again. Up to `workers` items run at once. Each item is
        retried under `retry` (default: the job type's item policy, else this stage's). A run of
        `auto_pause_after` consecutive failures pauses the job. Between items is a safe point.

        Once every item ran, items that failed for good fail the stage with `ItemsFailedError`
        ("2 of 4 items failed"; not retried as a stage: `resume` runs the failed items again), unless
        `allow_failures` accepts them: a number of items, or a percentage such as "10%". Accepted
        failures are logged, and the job completes with its failed items counted.
        """
        total = len(iterable) if hasattr(iterable, "__len__") else None  # type: ignore[arg-type]
        loop = ItemLoop(self._run, self.stage_index, fn, retry or self._run.job_type.item_retry or self._stage.retry,
                        key or default_key, replay=replay, total=total)
        # The loop's own generator, not one wrapped in another here: one hop less per item.
        return loop.run(iterable, workers, allow_failures, self)

    def _items_begun(self, failed_keys: set[str], iterated: set[str]) -> tuple[int, bool]:
        """Note an `items` call whose verdict is pending; return its number and whether its stage is fresh."""
        fresh, self._fresh = self._fresh, False
        self._calls += 1
        self._unjudged[self._calls] = (failed_keys, iterated)
        return self._calls, fresh
