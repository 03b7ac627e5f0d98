"""The claim for the slot of a job whose end is queued: it rides the group commit of that end (issue 18, `add` jobs).

A short job's end and the next job's claim are then one transaction and one fsync (store/commit.py `ride_soon`):
the claim is queued before the ending job awaits its commit, so the writer takes both in one batch, the end
first. Should that commit fail, nothing was claimed and the runner claims at its next turn as it always did.
Its jobs are the runner's in the store before they are in `Runner.runs`: whatever compares the two (the control
poll's strays, hold_claims, shutdown) starts them first (`take`, under the claim lock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from ..errors import StoreError
from ..store import Claimed, RunnerStore
from .contain_ahead import ContainAhead

log = logging.getLogger("jobtui.engine")


class ClaimAhead:
    """The claim queued for the next group commit (one at a time), and its jobs once it committed."""

    def __init__(self, contain: ContainAhead) -> None:
        self._pending: asyncio.Future[Any] | None = None
        self._contain = contain

    def queue(self, store: RunnerStore, runner_id: str, free: int, types: Iterable[str]) -> None:
        """Queue a claim for the free slots, unless one is queued already (nothing where claims do not ride the group
        commit): a claim per ending job made a burst of ends (1,000 CPU-bound jobs at once) a thousand one-slot
        claims, and bench_e2e's stages ran at 0.57x. It carries the containments of its jobs' first commands."""
        if self._pending is None and free > 0:
            ahead = self._contain.offer(free)
            self._pending = store.claim_soon(runner_id, free, types, ahead)
            if self._pending is None:
                self._contain.settle([])

    @property
    def queued(self) -> bool:
        """Tell whether a claim is queued and its jobs not yet taken."""
        return self._pending is not None

    async def take(self) -> list[Claimed]:
        """Return the jobs of the queued claim once its commit is done (none if it failed)."""
        fut, self._pending = self._pending, None
        if fut is None:
            return []
        claimed: Any = []
        try:
            claimed = await fut
        except StoreError as e:
            log.warning("%s; claiming again at the next turn", e)
        finally:
            if not isinstance(claimed, list):
                claimed = []
            self._contain.settle(claimed)
        return claimed  # type: ignore[no-any-return]
