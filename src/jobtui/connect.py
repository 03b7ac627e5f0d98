"""`jobtui.connect()`: a synchronous client for scripts, on an event loop of its own (a thread).

    with jobtui.connect("jobs.db") as jobs:
        job_id = jobs.submit("demo", {"items": 20})
        jobs.pause(job_id)

Every method is the async `Client`'s, called and waited for: it works in a plain script and inside a program that
already runs an event loop (a notebook), since the calls run on the helper's own loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .client import Client
from .errors import UsageError
from .model import AT_REST, Job, JobDetail, JobId, LogLine

if TYPE_CHECKING:
    from .store.records import ControlResult

T = TypeVar("T")


class SyncClient:
    """A `Client` for synchronous code: the same methods, each waited for. Close it (or use `with`)."""

    def __init__(self, db: str | Path | None = None, *, apps: Iterable[str] = (), source: str = "python") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jobtui-connect", daemon=True)
        self._thread.start()
        try:
            self.client: Client = self._call(Client.open(db, apps=tuple(apps), source=source))
            """The async client underneath (for what this class does not wrap: `jobs.call(jobs.client.stats())`)."""
        except BaseException:
            self._stop()
            raise

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of `self.client` on the helper's loop and return its result."""
        return self._call(coro)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def submit(self, type: str, params: Mapping[str, Any] | None = None, **options: Any) -> JobId:
        """Queue a job of `type` (see `jobtui types`); return its id. Options as `Client.submit`."""
        return self._call(self.client.submit(type, params, **options))

    def job(self, job_id: JobId) -> Job:
        """Return a job (UsageError: no such job)."""
        return self._call(self.client.job(job_id))

    def detail(self, job_id: JobId) -> JobDetail:
        """Return a job with its stages, outputs and dependencies."""
        return self._call(self.client.detail(job_id))

    def list_jobs(self, **filters: Any) -> list[Job]:
        """Return jobs (filters as `Client.list_jobs`: statuses, types, limit, ...)."""
        return self._call(self.client.list_jobs(**filters))

    def logs(self, job_id: JobId, *, limit: int = 1000) -> list[LogLine]:
        """Return a job's last `limit` log lines."""
        return self._call(self.client.logs(job_id, tail=True, limit=limit))

    def pause(self, job_id: JobId) -> ControlResult:
        """Pause a job (a running one at its next safe point)."""
        return self._call(self.client.pause(job_id))

    def resume(self, job_id: JobId) -> ControlResult:
        """Resume a job from its last checkpoint."""
        return self._call(self.client.resume(job_id))

    def cancel(self, job_id: JobId) -> ControlResult:
        """Cancel a job."""
        return self._call(self.client.cancel(job_id))

    def retry(self, job_id: JobId) -> ControlResult:
        """Run a failed job again now."""
        return self._call(self.client.retry(job_id))

    def run(self, *, concurrency: int = 4) -> None:
        """Run jobs in this process until none is left to run now (as `jobtui run --exit-when-idle`)."""
        self._call(self._run(concurrency))

    async def _run(self, concurrency: int) -> None:
        runner = self.client.headless_runner(concurrency=concurrency)
        try:
            await runner.run(exit_when_idle=True, wait_for_scheduled=False)
        finally:
            self.client.runner = None

    def wait(self, job_id: JobId, *, timeout_s: float | None = None, every_s: float = 0.2) -> Job:
        """Wait until a job ends (or pauses) and return it; a runner elsewhere (`jobtui run`) runs it.

        Raises:
            TimeoutError: it had not ended after `timeout_s`.
        """
        if every_s <= 0:
            raise UsageError("every_s must be more than 0")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while (job := self.job(job_id)).status not in AT_REST:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value} after {timeout_s:g}s")
            time.sleep(every_s)  # sleep: a script's own poll of the database, between reads
        return job

    def close(self) -> None:
        """Close the database and stop the helper's loop."""
        if self._loop.is_closed():
            return
        try:
            self._call(self.client.close())
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def connect(db: str | Path | None = None, *, apps: Iterable[str] = ()) -> SyncClient:
    """Open a job database for a synchronous script: `with jobtui.connect("jobs.db") as jobs: jobs.submit(...)`.

    `db` is a file or a postgresql:// URL (default: $JOBTUI_DB, else the user-data folder's, as the CLI);
    `apps` are modules of your job types (as `--app`).
    """
    return SyncClient(db, apps=apps)
