"""A foreach stage's lanes held by the fork servers: commands queue there and start the moment a lane is free.

Without it each command of a lane waited for the runner: the helper reaped one, told the runner, which woke,
settled the item and sent the next; four wake-ups of two processes per command, which on a loaded machine
cost more than the command (issue 18). With a pool, the stage's `workers` lanes are made (their rows committed
in one group commit) before the first command, and split between the fork servers; the items loop runs twice as
many items as lanes, so each lane has its next request waiting in the helper, which starts it as soon as it
reaped the last one and found nothing of it left (else once the runner ended what was left: `release`).

Every promise of a lane holds: a command carries its lane's token and starts in its lane's cgroup, one at a time
per lane; its own record rides the next group commit. A request still waiting when its item is interrupted is
withdrawn; one that started meanwhile is ended like any interrupted command.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import ProcessRecord
from . import forkserver
from .containment import TOKEN_VAR, Containment
from .hosts import boot_id, host_identity

if TYPE_CHECKING:
    from ..store import RunnerStore

LANE_SLOT = "\x1flane "
"""The slot of a lane's row: a prefix no item key starts with in practice (a control character)."""


@dataclasses.dataclass(slots=True)
class Lane:
    """One worker's containment, committed once and shared by the commands it runs one after another."""

    slot: str
    contain: Containment
    checked: bool = False
    """Whether a command of this lane was seen to join its cgroup (or the lane has none)."""


@dataclasses.dataclass(slots=True)
class SubPool:
    """The lanes one fork server holds for a stage."""

    server: forkserver.ForkServer
    number: int
    lanes: list[Lane]


class LanePool:
    """The lanes of one stage attempt, held by the fork servers (see the module docstring)."""

    def __init__(self, store: RunnerStore, stage: tuple[int, int, str], lanes: list[Lane]) -> None:
        self._store = store
        self._stage = stage
        """(job id, stage index, runner id)."""
        self.lanes = lanes
        self.subs: list[SubPool] = []

    @classmethod
    async def open(cls, store: RunnerStore, stage: tuple[int, int, str], n: int, argv: Sequence[str],
                   cwd: str | None) -> LanePool | None:
        """Make `n` lanes, commit their rows (one group commit) and hand them to the fork servers; None where
        commands get no token (then lanes are not used)."""
        lanes: list[Lane] = []
        job_id, index, runner_id = stage
        for i in range(n):
            contain = Containment.new()
            if not contain.token:
                return None
            lanes.append(Lane(f"{LANE_SLOT}{i + 1}", contain, checked=True))
        for lane in lanes:
            store.process_queued(ProcessRecord(
                job_id, index, lane.slot, 0, 0, 0, host_identity() or boot_id(), runner_id, tuple(argv), cwd,
                store.clock(), token=lane.contain.token,
                cgroup=None if lane.contain.cgroup is None else str(lane.contain.cgroup),
            ))
        pool = cls(store, stage, lanes)
        forkserver.servers()  # the helpers boot (~25 ms each) while the lanes' rows commit
        try:
            await store.commit_point()  # committed before the lanes' first fork
        except BaseException:
            pool.close()
            raise
        servers = forkserver.servers()
        for i, fs in enumerate(servers):
            part = lanes[i::len(servers)]
            if part:
                pool.subs.append(SubPool(fs, pool._register(fs, part), part))
        return pool

    @staticmethod
    def _register(fs: forkserver.ForkServer, lanes: list[Lane]) -> int:
        return fs.pool(TOKEN_VAR, [(lane.contain.token, lane.contain.cgroup) for lane in lanes])

    def _sub(self) -> SubPool:
        """Return the least busy part (one whose server exited idle is handed to a new one)."""
        sub = min(self.subs, key=lambda s: (s.server.closed, forkserver._busy(s.server)))
        if sub.server.closed:
            sub.server = forkserver.server()
            sub.number = self._register(sub.server, sub.lanes)
        return sub

    async def spawn(self, argv: Sequence[str], env: dict[str, str], cwd: str | None, *,
                    base: Mapping[str, str] | None, state: tuple[Path, str] | None,
                    ticket: list[tuple[forkserver.ForkServer, int]]) -> tuple[forkserver.Child, Lane]:
        """Queue a command for the next free lane; return it once started, with its lane.

        Raises:
            OSError: it could not be started (or it was withdrawn: ECANCELED).
        """
        sub = self._sub()
        try:
            child = await sub.server.spawn(argv, env, cwd, None, base=base, state=state, pool=sub.number, ticket=ticket)
        except forkserver._Unsent:
            sub = self._sub()
            child = await sub.server.spawn(argv, env, cwd, None, base=base, state=state, pool=sub.number, ticket=ticket)
        except forkserver.LostError:
            # Its fork server died: what of its lanes may run (started unseen) is ended before a lane is used again.
            for lane in sub.lanes:
                await lane.contain.end(1.0, remove=False)
            raise
        lane = sub.lanes[child.lane or 0]
        if not child.joined and lane.contain.cgroup is not None:
            lane.contain.remove()  # the hierarchy refused it: the token alone marks the lane's commands
            lane.contain = Containment(lane.contain.token)
        return child, lane

    def release(self, child: forkserver.Child, lane: Lane) -> None:
        """Free a lane whose command left something behind, once that was ended (the helper frees the others)."""
        if child.left:
            for sub in self.subs:
                if lane in sub.lanes and sub.server is child._owner:
                    sub.server.release(sub.number, sub.lanes.index(lane))

    @staticmethod
    def close_made(opening: asyncio.Future[LanePool | None]) -> None:
        """Close a pool once it is made (its stage ended while it was being made)."""
        if not opening.cancelled() and opening.exception() is None and (pool := opening.result()) is not None:
            pool.close()

    def close(self) -> None:
        """Forget the pool and drop the lanes' rows (every command of the stage has ended)."""
        for sub in self.subs:
            sub.server.drop(sub.number)
        job_id, index, _runner = self._stage
        for lane in self.lanes:
            lane.contain.remove()
            self._store.process_ended(job_id, index, lane.slot, None, keep=False)
        self.subs.clear()


__all__ = ["LANE_SLOT", "Lane", "LanePool"]
