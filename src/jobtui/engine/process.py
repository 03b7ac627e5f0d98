"""Supervised processes: each command in its own process group, tied to its runner, safely ended.

A command stage starts its process through `ctx.processes.spawn(...)`:

* The process leads a new session and process group (`start_new_session`), so that signals reach the
  command and everything it started, and never the runner.
* On Linux the runner's fork servers start it (engine/forkserver.py, forkchild.py: two small helpers that
  start, reap and read commands beside the runner, issue 18). A helper gets SIGTERM when the runner dies
  (`prctl(PR_SET_PDEATHSIG)`, asked from the runner's event-loop thread, which lives as long as the
  runner) and then SIGKILLs the whole process group of every command it started that still runs; should a
  helper die alone, the runner SIGKILLs those groups. Without the fork server (`JOBTUI_FORKSERVER=0`, or
  not Linux) the runner forks the command itself, from its event-loop thread, and the child asks for
  SIGKILL when the runner dies (which reaches only that child).
* What left the group (setsid, daemons) outlives that. So each process is recorded in the store
  with its pid, process group, start time (field 22 of /proc/PID/stat) and boot id, and before a
  stage runs again (and when a runner recovers a dead runner's jobs) `end_leftovers` (engine/leftovers.py)
  ends any member of that group still alive, and what its token or cgroup still finds: never two live
  copies of one stage's command.
* The record is written ahead: its containment (token, cgroup) is committed *before* the fork, its pid
  after. A runner killed between the two leaves a row without a pid, and its token and cgroup still
  find what the command started (a runner killed in that window under load used to leave it unrecorded,
  and the relaunch ran a second copy beside it).

* Commands of a `foreach` (a slot per item) run in **lanes**: a lane is one worker's containment (token
  and cgroup), recorded and committed once, before its first fork; every command the lane starts after
  it carries its token and joins its cgroup, so its own record (pid, group, start time) rides the next
  group commit instead of waiting for one. A runner killed before that commit leaves the lane's row,
  whose token and cgroup find the command. The lane rows are dropped when the stage's commands are done
  (`Processes.close`).
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..model import ProcessRecord
from . import forkserver
from .childenv import child_env
from .containment import TOKEN_VAR, Containment
from .forkchild import reset_signals
from .hosts import boot_id, host_identity
from .lanes import LANE_SLOT, Lane, LanePool
from .leftovers import (
    KILL_GRACE_S,
    _killpg,
    _until,
    end_leftovers,
    end_recorded,
    group_members,
    start_ticks,
    verified_members,
)

if TYPE_CHECKING:
    from .context import Context

log = logging.getLogger("jobtui.process")

PR_SET_PDEATHSIG = 1

_LINUX = sys.platform.startswith("linux")
_libc: ctypes.CDLL | None = None
if _LINUX:
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a libc that ctypes cannot open
        _libc = None


def _child_setup(parent_pid: int, join: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """Return the preexec hook: `join` the command's cgroup, die with the parent (Linux), and not outlive a
    parent already gone."""

    def setup() -> None:
        join()
        reset_signals()  # the fork server's list (subprocess itself restores only SIGPIPE and SIGXFSZ)
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent_pid:
                # The parent died between fork and prctl: the signal will never come.
                os._exit(137)

    return setup


class Readable(Protocol):
    """A command's output stream: asyncio's StreamReader, or the fork server's Stream."""

    async def read(self, n: int = -1) -> bytes: ...


class ChildProcess(Protocol):
    """A started command as supervision sees it: asyncio's Process, or the fork server's Child."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stdout(self) -> Readable | None: ...
    @property
    def stderr(self) -> Readable | None: ...

    async def wait(self) -> int: ...


async def _start(argv: Sequence[str], cwd: str | None, env: Mapping[str, str] | None, contain: Containment, *,
                 base: Mapping[str, str] | None, state: tuple[Path, str] | None) -> tuple[ChildProcess, str | None]:
    """Start a command in its own session, its cgroup joined and its parent-death signal asked for before it runs:
    through the fork server (Linux), else from this process with a preexec hook. Return it and the state file made
    here (None when the fork server made it, or none was asked for)."""
    if forkserver.enabled():
        extra = dict(env) if env is not None else {} if base is not None else child_env()
        if contain.token:
            extra[TOKEN_VAR] = contain.token
        return await forkserver.spawn(argv, extra, cwd, contain.cgroup, base=base, state=state), None
    full = contain.env({**base, **(env or {})} if base is not None else dict(env) if env is not None else child_env())
    path = None
    if state is not None:
        fd, path = tempfile.mkstemp(prefix=".jobtui-state-", suffix=".json", dir=state[0])
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(state[1])
        full["JOBTUI_STATE_FILE"] = path
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=cwd, env=full, start_new_session=True,
            preexec_fn=_child_setup(os.getpid(), contain.joiner()) if _libc is not None else None,
        )
    except BaseException:
        if path is not None:
            _unlink(path)
        raise
    return proc, path


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _unrecorded(pid: int) -> ProcessRecord:
    return ProcessRecord(0, 0, "", pid, pid, 0, "", None, (), None, 0)


class Supervised:
    """One command running in its own process group, as started by `Processes.spawn`."""

    def __init__(self, owner: Processes, proc: ChildProcess, record: ProcessRecord,
                 contain: Containment | None = None, lane: Lane | None = None) -> None:
        self._owner = owner
        self.proc = proc
        self.record = record
        self.contain = contain or Containment("")
        """Its cgroup and token: what it started outside its group is ended (and frozen) with it."""
        self.lane = lane
        """The lane it runs in (its containment outlives it), or None."""
        self.frozen = False
        self.state_file: str | None = None
        """The $JOBTUI_STATE_FILE made for it here (removed once it ended), or None."""

    @property
    def pid(self) -> int:
        """Return the process id (also its group's id)."""
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """Return its exit status once reaped (negative: the signal that ended it)."""
        return self.proc.returncode

    def signal_group(self, sig: int) -> bool:
        """Send a signal to the whole group; False when none of it is left."""
        return _killpg(self.pid, sig)

    def freeze(self) -> None:
        """Stop the whole group (SIGSTOP) and record it as frozen."""
        if self.signal_group(signal.SIGSTOP):
            self.contain.freeze(True)
            self.frozen = True
            self._owner.frozen(self, True)

    def thaw(self) -> None:
        """Continue a frozen group (SIGCONT)."""
        self.contain.freeze(False)
        self.signal_group(signal.SIGCONT)
        if self.frozen:
            self.frozen = False
            self._owner.frozen(self, False)

    def exit_future(self) -> asyncio.Future[int]:
        """Return a future of its exit status (of the fork server's own, without a task), to wait on beside others."""
        return self.proc.exited() if isinstance(self.proc, forkserver.Child) else asyncio.ensure_future(self.proc.wait())

    async def terminate(self, grace_s: float = KILL_GRACE_S) -> None:
        """End the group: SIGTERM (with SIGCONT, should it be frozen), wait `grace_s`, then SIGKILL."""
        if self.proc.returncode is None:
            self.signal_group(signal.SIGTERM)
            self.signal_group(signal.SIGCONT)
            if not await self.exited(grace_s):
                self.signal_group(signal.SIGKILL)
                await self.exited(None)
        await self.end_stragglers(grace_s)

    async def exited(self, timeout_s: float | None) -> bool:
        """Wait for the process to exit (up to `timeout_s`); tell whether it did.

        Its exit status is what counts, not its pipes: asyncio's `wait()` also waits for the pipes to
        close, which never happens while their reader is stuck (issue 14, item 4).
        """
        waiter = asyncio.ensure_future(self.proc.wait())
        polled = asyncio.ensure_future(_until(lambda: self.proc.returncode is not None, 1e9 if timeout_s is None
                                              else timeout_s, 0.1))
        try:
            await asyncio.wait({waiter, polled}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            polled.cancel()
        return self.proc.returncode is not None

    async def end_stragglers(self, grace_s: float = KILL_GRACE_S) -> None:
        """End what the command left after it exited: background children in its group, and what left the
        group (setsid, daemons) but stays in its cgroup or carries its token."""
        if isinstance(self.proc, forkserver.Child) and self.proc.left is False and (
                self.contain.cgroup is not None or not self.contain.token):
            return  # reaped by the fork server, which saw nothing of its group or its (joined) cgroup left
        if self.signal_group(0):
            self.signal_group(signal.SIGTERM)
            self.signal_group(signal.SIGCONT)
            if not await _until(lambda: not group_members(self.pid), grace_s):
                self.signal_group(signal.SIGKILL)
                await _until(lambda: not group_members(self.pid), 10)
        if self.contain.token:
            try:
                if await self.contain.end(grace_s, remove=self.lane is None):
                    log.info("ended what command %d left outside its process group", self.pid)
            except TimeoutError as e:
                log.warning("%s", e)


class Processes:
    """Start supervised processes for one stage attempt (`ctx.processes`)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._cleared = False
        self._lanes: list[Lane] = []
        self._free: list[Lane] = []
        self._pool_size = 0
        self._pool: LanePool | None = None
        self._opening: asyncio.Future[LanePool | None] | None = None
        """The pool being made: every spawn that comes meanwhile waits for that one (one pool per stage attempt)."""

    def use_lanes(self, n: int) -> bool:
        """Run this stage's slotted commands in `n` lanes the fork servers hold (engine/lanes.py), where they can;
        tell whether they will (then twice `n` may wait at once: the lanes keep `n` running)."""
        self._pool_size = n if _LINUX and forkserver.enabled() else 0
        return bool(self._pool_size)

    @property
    def pooled(self) -> bool:
        """Tell whether a slotted spawn may wait in the fork server for a free lane."""
        return bool(self._pool_size)

    async def _lane(self, argv: Sequence[str], cwd: str | None) -> Lane | None:
        """Return a free lane, or a new one whose row is committed; None where commands get no token."""
        if self._free:
            return self._free.pop()
        contain = Containment.new() if _LINUX else Containment("")
        if not contain.token:
            return None
        lane = Lane(f"{LANE_SLOT}{len(self._lanes) + 1}", contain)
        self._lanes.append(lane)
        ctx = self._ctx
        store = ctx._run.store
        row = ProcessRecord(
            ctx.job_id, ctx.stage_index, lane.slot, 0, 0, 0, host_identity() or boot_id(), ctx._run.runner.runner_id,
            tuple(argv), cwd, store.clock(), token=contain.token,
            cgroup=None if contain.cgroup is None else str(contain.cgroup),
        )
        try:
            await store.process_started(row)  # committed before the lane's first fork
        except BaseException:
            self._lanes.remove(lane)
            contain.remove()
            raise
        return lane

    def close(self) -> None:
        """Drop the rows of the lanes no command runs in (call once the stage's commands are done)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.add_done_callback(LanePool.close_made)  # interrupted while it was made: closed once it is
        store = self._ctx._run.store
        for lane in self._free:
            lane.contain.remove()
            store.process_ended(self._ctx.job_id, self._ctx.stage_index, lane.slot, None, keep=False)
            self._lanes.remove(lane)
        self._free.clear()

    async def spawn(
        self, argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None, slot: str = "",
        base: Mapping[str, str] | None = None, state: tuple[Path, str] | None = None,
    ) -> Supervised:
        """Start `argv` (no shell) in its own process group, stdout and stderr piped, stdin from /dev/null.

        Its environment is `env` (default: the runner's, minus its secrets), or with `base` the variables of
        `env` over `base` (a mapping not changed afterwards: a stage's shared environment, sent to the fork
        server once). `state`: a folder and a text, for a `$JOBTUI_STATE_FILE` made for it there (removed once it
        ended). Before the first process of a stage attempt, any group a dead runner left for this stage is
        ended. The process is recorded (pid, pgid, start time, boot id) and committed before this returns.

        Raises:
            OSError: the program cannot be started (not found, not executable, bad cwd).
        """
        ctx = self._ctx
        store = ctx._run.store
        if not self._cleared:
            if ctx._run.may_have_leftovers(ctx.stage_index):  # not when the claim saw no record of the job's
                await end_leftovers(store, ctx.job_id, ctx.stage_index, log=lambda m: ctx.log(m, "warning"))
            self._cleared = True
        if slot and self._pool_size:
            pool = self._pool or await self._open_pool(argv, cwd)
            if pool is not None:
                return await self._pooled(pool, argv, cwd, env, base, state, slot)
        lane = await self._lane(argv, cwd) if slot else None
        # Committed with the claim (engine/contain_ahead.py): no commit of its own before the fork.
        committed = None if slot else ctx._run.take_ahead(ctx.stage_index)
        contain = lane.contain if lane is not None else committed or (Containment.new() if _LINUX else Containment(""))
        ahead = ProcessRecord(
            ctx.job_id, ctx.stage_index, slot, 0, 0, 0, host_identity() or boot_id(), ctx._run.runner.runner_id,
            tuple(argv), cwd, store.clock(), token=contain.token or None,
            cgroup=None if contain.cgroup is None else str(contain.cgroup),
        )
        if contain.token and lane is None and committed is None:
            try:
                await store.process_started(ahead)  # committed before the fork: see the module docstring
            except BaseException:
                contain.remove()
                raise
        starting = asyncio.ensure_future(_start(argv, cwd, env, contain, base=base, state=state))
        try:
            proc, state_file = await asyncio.shield(starting)
        except OSError as e:
            if isinstance(e, forkserver.LostError):
                # Its fork server died while it started: it may run (in its cgroup, with its token). End that first.
                await contain.end(1.0, remove=lane is None)
            if lane is not None:
                self._free.append(lane)
            else:
                contain.remove()
                store.process_ended(ctx.job_id, ctx.stage_index, slot, None, keep=False)
            raise
        except asyncio.CancelledError:
            # Interrupted while the command was starting: it may already run (and have started children).
            # asyncio would SIGKILL only the leader; end the whole group.
            try:
                started, state_file = await starting
            except OSError:
                raise asyncio.CancelledError from None
            sup = Supervised(self, started, _unrecorded(started.pid), contain, lane)
            await sup.terminate(1.0)
            if state_file is not None:
                _unlink(state_file)
            if lane is not None:
                self._free.append(lane)
            raise
        return await self._started(proc, ahead, contain, lane, state_file)

    async def _open_pool(self, argv: Sequence[str], cwd: str | None) -> LanePool | None:
        """Return the stage's pool of lanes, made once: the spawns that come meanwhile wait for it (issue 18)."""
        if self._opening is None:
            ctx = self._ctx
            self._opening = asyncio.ensure_future(LanePool.open(
                ctx._run.store, (ctx.job_id, ctx.stage_index, ctx._run.runner.runner_id), self._pool_size, argv, cwd))
        opening = self._opening
        try:
            pool = await asyncio.shield(opening)
        except BaseException:
            if opening.done() and self._opening is opening:
                self._opening = None  # it failed: the next spawn tries again
            raise
        if pool is None:
            self._pool_size = 0  # no token here: commands run without lanes
            return None
        if self._pool is None:
            self._pool = pool
        return self._pool

    async def _pooled(self, pool: LanePool, argv: Sequence[str], cwd: str | None, env: Mapping[str, str] | None,
                      base: Mapping[str, str] | None, state: tuple[Path, str] | None, slot: str) -> Supervised:
        """Start a command in the pool's next free lane; its record rides the next group commit (its lane's row is
        committed)."""
        extra = dict(env) if env is not None else {} if base is not None else child_env()
        ticket: list[tuple[forkserver.ForkServer, int]] = []
        starting = asyncio.ensure_future(pool.spawn(argv, extra, cwd, base=base, state=state, ticket=ticket))
        try:
            child, lane = await asyncio.shield(starting)
        except asyncio.CancelledError:
            for fs, rid in ticket:
                fs.withdraw(rid)  # still waiting for a lane: it never starts
            try:
                child, lane = await starting
            except OSError:
                raise asyncio.CancelledError from None
            await Supervised(self, child, _unrecorded(child.pid), lane.contain, lane).terminate(1.0)
            pool.release(child, lane)
            raise
        ctx = self._ctx
        store = ctx._run.store
        record = ProcessRecord(
            ctx.job_id, ctx.stage_index, slot, child.pid, child.pid, child.start_ticks, host_identity() or boot_id(),
            ctx._run.runner.runner_id, tuple(argv), cwd, store.clock(), token=lane.contain.token,
            cgroup=None if lane.contain.cgroup is None else str(lane.contain.cgroup),
        )
        store.process_queued(record)
        return Supervised(self, child, record, lane.contain, lane)

    async def _started(self, proc: ChildProcess, ahead: ProcessRecord, contain: Containment, lane: Lane | None,
                       state_file: str | None) -> Supervised:
        """Record a started command: its pid rides the next group commit where its containment is committed."""
        if lane is None or not lane.checked:
            contain = contain.joined(proc.pid)
            if lane is not None:
                lane.contain, lane.checked = contain, True
        ticks = proc.start_ticks if isinstance(proc, forkserver.Child) else start_ticks(proc.pid)
        record = dataclasses.replace(
            ahead, pid=proc.pid, pgid=proc.pid, start_ticks=ticks or 0, token=contain.token or None,
            cgroup=None if contain.cgroup is None else str(contain.cgroup),
        )
        sup = Supervised(self, proc, record, contain, lane)
        sup.state_file = state_file
        store = self._ctx._run.store
        if contain.token:
            # Its containment is committed (its own row ahead, or its lane's): the pid rides the next group commit.
            store.process_queued(record)
            return sup
        try:
            await store.process_started(record)
        except BaseException:
            await sup.terminate(1.0)
            raise
        return sup

    def frozen(self, sup: Supervised, frozen: bool) -> None:
        """Record that a process was frozen or continued."""
        self._ctx._run.store.process_frozen(self._ctx.job_id, self._ctx.stage_index, sup.record.slot, frozen)

    def ended(self, sup: Supervised, *, keep: bool) -> None:
        """Record that a process was reaped (and its group ended); `keep` its row (with the exit code) for the
        detail view. Its lane, if any, takes the next command."""
        if sup.lane is None:
            sup.contain.remove()
        if sup.state_file is not None:
            _unlink(sup.state_file)
            sup.state_file = None
        if isinstance(sup.proc, forkserver.Child):
            sup.proc.release()
        self._ctx._run.store.process_ended(
            self._ctx.job_id, self._ctx.stage_index, sup.record.slot, sup.returncode, keep=keep
        )
        if sup.lane is not None and sup.lane in self._lanes and sup.lane not in self._free:
            self._free.append(sup.lane)
        elif self._pool is not None and sup.lane is not None and isinstance(sup.proc, forkserver.Child):
            self._pool.release(sup.proc, sup.lane)


def describe_exit(code: int | None) -> str:
    """Return 'exit code N' or 'killed by signal N (NAME)'."""
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "?"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"


__all__ = [
    "KILL_GRACE_S", "Processes", "Readable", "Supervised", "boot_id", "describe_exit", "end_leftovers", "end_recorded",
    "group_members", "start_ticks", "verified_members",
]
