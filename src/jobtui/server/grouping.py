"""Concurrent `POST /jobs` share one transaction (a group commit), as a runner's checkpoints do.

A submission without an upload or an Idempotency-Key joins the next group; one task per server commits a group
with `Client.submit_many` while the next one gathers, so a burst of requests costs a few transactions, and a
lone request waits for no one. A group is all or nothing in the database, so when it is refused (a bad job, a
unique key in use) nothing of it is stored and each of its jobs is submitted again alone: each request gets its
own answer, as if it had come alone. Nothing stays in memory between requests: a server that dies loses only
requests that were never answered.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..client import Client, Submission
from ..errors import JobtuiError
from ..model import JobId

MAX_GROUP = 500
"""Jobs in one transaction at most (the rest go in the next)."""


class SubmitGroup:
    """Queue submissions from concurrent requests; commit each group in one transaction."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._waiting: list[tuple[Submission, asyncio.Future[JobId]]] = []
        self._task: asyncio.Task[None] | None = None
        self.groups = 0
        """Transactions committed for groups of more than one job (tests and the bench read it)."""

    async def submit(self, sub: Submission) -> JobId:
        """Return the id of the job `sub` queued, in a group with the submissions that arrive meanwhile.

        Raises:
            JobtuiError: as `Client.submit_many` of this job alone (nothing stored).
        """
        future: asyncio.Future[JobId] = asyncio.get_running_loop().create_future()
        self._waiting.append((sub, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="jobtui-submit-group")
        return await future

    async def close(self) -> None:
        """Finish the group in flight (the server is stopping)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                await self._commit(group)
        finally:
            self._task = None

    async def _commit(self, group: list[tuple[Submission, asyncio.Future[JobId]]]) -> None:
        try:
            await self._apply(group)
        except Exception as e:  # a bug: each request gets it (a 500 problem with a reference), the task goes on
            for _, future in group:
                _settle(future, None, e)
        except BaseException:  # cancelled: the server is stopping
            for _, future in group:
                _settle(future, None, JobtuiError("the server is stopping"))
            raise

    async def _apply(self, group: list[tuple[Submission, asyncio.Future[JobId]]]) -> None:
        if len(group) > 1:
            try:
                ids = await self.client.submit_many(s for s, _ in group)
            except JobtuiError:
                pass  # nothing of the group was stored: each alone below gets its own answer
            else:
                self.groups += 1
                for (_, future), job_id in zip(group, ids, strict=True):
                    _settle(future, job_id)
                return
        for sub, future in group:
            try:
                (job_id,) = await self.client.submit_many([sub])
            except JobtuiError as e:
                _settle(future, None, e)
            else:
                _settle(future, job_id)


def _settle(future: asyncio.Future[JobId], job_id: JobId | None, error: Exception | None = None) -> None:
    """Answer a waiting request (one that left meanwhile is skipped)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert job_id is not None
        future.set_result(job_id)
