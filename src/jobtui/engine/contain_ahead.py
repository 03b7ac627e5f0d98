"""Containments committed with the claim: a job's first command starts without a commit of its own (issue 18, `add`).

A command's containment (token and cgroup) must be committed before its fork, so that a runner killed right after
the fork leaves a row whose token and cgroup find the command (engine/process.py). For a one-command job that was a
group commit of its own between the claim and the fork. Instead the runner makes a few containments before it
claims, and the claim writes the process row (pid 0, token, cgroup) of each job it takes of a type known to start
a command first, in its own transaction: the job's stage starts its command at once, and the pid rides the next
group commit, as a foreach lane's commands do.

Which types: those whose jobs this runner saw start an unslotted command as the first thing their run did (learned,
so the engine knows no job type). A containment the job never uses (it stopped first, its stage starts none) is
removed and its row dropped when the job's run ends; one the claim did not give out waits for the next claim.
A runner killed in between leaves what any killed runner leaves: rows that recovery ends (`end_leftovers`), and
empty cgroups the next runner sweeps.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable

from ..store import Ahead, Claimed, RunnerStore
from .containment import Containment
from .hosts import boot_id, host_identity

_LINUX = sys.platform.startswith("linux")


class ContainAhead:
    """The runner's containments made ahead of its claims, and the job types that get one."""

    def __init__(self) -> None:
        self.types: set[str] = set()
        """Job types whose run started an unslotted command before anything else (`learn`)."""
        self._ready: dict[str, Containment] = {}
        """Made and not offered to a claim in flight, by token."""
        self._offered: dict[str, Containment] = {}
        """Offered to the claim in flight (one at a time: `offer` gives none while one is out)."""
        self._given: dict[int, tuple[int, Containment]] = {}
        """Given by a claim to its jobs, until each starts (`give`): job id -> (stage index, containment)."""
        self._closed = False

    def learn(self, job_type: str) -> None:
        """Note that a job of `job_type` started a command first: its next jobs get a containment with the claim."""
        self.types.add(job_type)

    def offer(self, n: int) -> Ahead | None:
        """Return up to `n` containments for the next claim (made now where missing), or None (nothing to offer, or
        a claim holds an offer still)."""
        if not self.types or n <= 0 or self._offered or not _LINUX:
            return None
        self._make(n)
        tokens = list(self._ready)[:n]
        self._offered = {t: self._ready.pop(t) for t in tokens}
        return Ahead(frozenset(self.types), tuple((t, _path(c)) for t, c in self._offered.items()),
                     host_identity() or boot_id())

    async def claim(self, store: RunnerStore, runner_id: str, limit: int, types: Iterable[str]) -> list[Claimed]:
        """Claim (`store.claim`) with containments for its jobs, and keep those it gave them."""
        claimed: list[Claimed] = []
        try:
            claimed = await store.claim(runner_id, limit, types, self.offer(limit))
        finally:
            self.settle(claimed)
        return claimed

    def settle(self, claimed: list[Claimed]) -> None:
        """Keep the containments the claim gave its jobs for them (`give`); the rest wait for the next claim, and those
        given are made again soon (`_refill`). Call once the claim's outcome is known, with [] when it failed."""
        size = len(self._ready) + len(self._offered)
        for c in claimed:
            if c.ahead is not None:
                index, token = c.ahead
                contain = self._offered.pop(token, None)
                if contain is not None:
                    self._given[c.job.job_id] = (index, contain)
        self._ready.update(self._offered)
        self._offered = {}
        if len(self._ready) < size:
            asyncio.get_running_loop().call_soon(self._refill, size)

    def _refill(self, size: int) -> None:
        """Make containments until `size` are ready: in a turn of its own, so that the next offer (made as a job's end
        is queued, before its commit starts) finds them made."""
        if not self._closed:
            self._make(size)

    def _make(self, size: int) -> None:
        """Make containments until `size` are ready (fewer where none can be made)."""
        while len(self._ready) < size:
            c = Containment.new()
            if not c.token:
                break
            self._ready[c.token] = c

    def give(self, job_id: int) -> tuple[int, Containment] | None:
        """Return (stage index, containment) the claim gave a job it took, once; None if it gave none."""
        return self._given.pop(job_id, None)

    def discard(self, store: RunnerStore, job_id: int) -> None:
        """Remove what the claim gave a job that continues a held stage instead (never given: such a job's process
        row is alive, and the claim gives those none)."""
        given = self._given.pop(job_id, None)
        if given is not None:
            drop(store, job_id, *given)

    def close(self) -> None:
        """Remove the cgroups of the containments no job got (the runner is leaving)."""
        self._closed = True
        for c in [*self._ready.values(), *self._offered.values(), *(c for _i, c in self._given.values())]:
            c.remove()
        self._ready.clear()
        self._offered.clear()
        self._given.clear()


def drop(store: RunnerStore, job_id: int, index: int, contain: Containment) -> None:
    """Remove an unused containment and queue the drop of the row the claim wrote for it."""
    contain.remove()
    store.process_unused(job_id, index, contain.token)


def _path(c: Containment) -> str | None:
    return None if c.cgroup is None else str(c.cgroup)
