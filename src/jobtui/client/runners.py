"""RunnerControl: the runner of this process (embedded in the TUI, or `jobtui run`) and the fleet of runners."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine.lease import runner_process_gone
from ..engine.runner import Runner
from ..errors import JobtuiError, UsageError
from ..fleet import FleetRunner, RunnerHealth, health, missing_runner
from ..model import (
    RUNNABLE,
    Job,
    JobId,
    RunnerInfo,
)
from .core import ClientCore


@dataclass(frozen=True, slots=True)
class RunnerState:
    """What the embedded runner is doing now: for a status line and the quit dialog."""

    concurrency: int
    """Jobs it runs at once."""
    busy: tuple[JobId, ...]
    """The jobs it holds, in the order it claimed them."""
    stopping: bool
    """stop() was called: it hands its jobs back and claims nothing."""


class RunnerControl(ClientCore):
    """Start, steer and describe the runner of this process; list every runner of the database."""

    async def embedded_runner(self, *, concurrency: int = 4, **options: Any) -> Runner:
        """Return a runner for this process on its own connection, and send requests to it directly.

        Its own connection keeps reads (the TUI's refresh) from queueing behind its group commits,
        and from seeing a batch that is later rolled back.
        """
        self._runner_store = await self.store.reopen()
        # The UI shares this loop: a thread keeps the lease however long a frame takes (issue 14 item 3).
        options.setdefault("lease_thread", True)
        self.runner = Runner(self._runner_store, self.registry, concurrency=concurrency, **options)
        return self.runner

    def headless_runner(self, *, concurrency: int = 4, **options: Any) -> Runner:
        """Return the runner of a headless process (`jobtui run`) on this client's connection.

        Requests sent through this client then reach it directly, as with `embedded_runner`.
        """
        self.runner = Runner(self.store, self.registry, concurrency=concurrency, **options)
        return self.runner

    async def run_embedded(self) -> None:
        """Run the embedded runner until stop_embedded() (see `embedded_runner`)."""
        if self.runner is None:
            raise UsageError("no embedded runner: call embedded_runner() first")
        await self.runner.run()

    def stop_embedded(self, *, force: bool = False) -> None:
        """Ask the embedded runner to hand its jobs back at a safe point and return from run_embedded()."""
        if self.runner is not None:
            self.runner.stop(force=force)

    async def hold_claims(self) -> None:
        """Let the embedded runner claim nothing new (its running jobs go on); return once none is in flight."""
        if self.runner is not None:
            await self.runner.hold_claims()

    def release_claims(self) -> None:
        """Let the embedded runner claim jobs again."""
        if self.runner is not None:
            self.runner.release_claims()

    def runner_state(self) -> RunnerState | None:
        """Return what the embedded runner does now (None without one)."""
        r = self.runner
        if r is None:
            return None
        return RunnerState(r.options.concurrency, tuple(r.runs), r.stopping)

    def running_job_ids(self) -> list[JobId]:
        """Return the jobs the embedded runner holds now (none without one)."""
        return list(self.runner.runs) if self.runner is not None else []

    async def live_runners(self) -> list[RunnerInfo]:
        """Return the runners working on this database now (fresh heartbeat, and a live process on this host)."""
        return [r for r in (await self.store.stats()).runners if not runner_process_gone(r)]

    async def fleet(self) -> list[FleetRunner]:
        """Return every registered runner (also stale and gone ones not yet recovered): name, host, pid, tags,
        the jobs it holds, its heartbeat's age and its health."""
        runners, held = await asyncio.gather(self.store.runners(), self.store.held_jobs())
        now = self.store.clock()
        return [FleetRunner(r, health(r, now, gone=runner_process_gone(r)), held.get(r.runner_id, ()),
                            max(0, now - r.heartbeat_at_ms)) for r in runners]

    async def stop_runners(self, names: Sequence[str] = (), *, every: bool = False) -> list[FleetRunner]:
        """Ask live runners to hand their jobs back at a safe point and exit 0; return those asked.

        Each runner reads the request at its next heartbeat (a third of its lease), from the database: a runner
        on another host of a PostgreSQL fleet hears it as one on this host does. A runner is named by its name
        or id; `every` asks every live runner (none live: nothing is asked).

        Raises:
            UsageError: no runner has a name given (with the name probably meant).
            JobtuiError: a runner named is not alive (stale or gone: its jobs go back at the next recovery).
        """
        fleet = await self.fleet()
        if every:
            chosen = [r for r in fleet if r.health is RunnerHealth.ALIVE]
        else:
            chosen = []
            for name in dict.fromkeys(names):
                match = next((r for r in fleet if name in (r.info.label, r.info.runner_id)), None)
                if match is None:
                    import difflib  # a name that matched no runner only

                    close = difflib.get_close_matches(name, [r.info.label for r in fleet], n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else " (`jobtui runners` lists them)"
                    raise UsageError(f"no runner named {name!r}{hint}")
                if match.health is not RunnerHealth.ALIVE:
                    raise JobtuiError(f"runner {name!r} is {match.health.value}, not running: nothing to stop"
                                      " (its jobs go back to the queue at the next recovery)")
                chosen.append(match)
        if chosen:
            await self.store.request_runner_stop([r.info.runner_id for r in chosen])
        return chosen

    async def unmet_needs(self, jobs: Iterable[Job]) -> dict[JobId, tuple[str, ...]]:
        """Return, for each waiting job (queued or waiting to retry) that no live runner has the tags for,
        the tags it needs: what `show`, `ls` and the TUI word as 'waiting for a runner with tags: ...'."""
        waiting = [j.job_id for j in jobs if j.status in RUNNABLE]
        if not waiting:
            return {}
        needs = await self.store.job_needs(waiting)
        if not needs:
            return {}
        live = await self.live_runners()
        return {job_id: tags for job_id, tags in needs.items() if missing_runner(tags, live)}

    @property
    def embedded(self) -> bool:
        """Tell whether a runner runs in this process."""
        return self.runner is not None

    @property
    def runner_id(self) -> str | None:
        """Return the id of this process's runner (None without one)."""
        return None if self.runner is None else self.runner.runner_id
