"""Process groups a runner recorded: found again (certainly the same group) and ended, after a crash or before a rerun.

A recorded group is ended only when it is certainly the same one: same boot, and either its leader
is alive with the recorded start time, or the leader is gone and every member started no earlier
(the kernel does not reuse a pid as long as a process group of that id exists).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TransientError
from ..model import ProcessRecord
from .containment import recorded
from .hosts import boot_id, same_pid_space

if TYPE_CHECKING:
    from ..store import ProcessStore

log = logging.getLogger("jobtui.process")

KILL_GRACE_S = 5.0
"""Seconds between SIGTERM and SIGKILL when a command's group is ended."""

_LINUX = sys.platform.startswith("linux")


def _same_pid_space(recorded: str) -> bool:
    """Tell whether pids recorded under `recorded` (BOOT/PIDNS; a bare boot id from an older jobtui) are ours."""
    return same_pid_space(recorded) if "/" in recorded else recorded == boot_id()


def _stat(pid: int) -> list[str] | None:
    """Return the fields of /proc/PID/stat after the command name (field 3 first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def start_ticks(pid: int) -> int | None:
    """Return a process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def group_members(pgid: int) -> list[tuple[int, int]]:
    """Return (pid, start_ticks) of every live (not zombie) process in a process group."""
    out: list[tuple[int, int]] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        fields = _stat(int(name))
        if fields is None or len(fields) <= 19 or fields[0] in ("Z", "X"):
            continue
        if int(fields[2]) == pgid:
            out.append((int(name), int(fields[19])))
    return out


def verified_members(rec: ProcessRecord) -> list[int]:
    """Return the pids of a recorded group's processes still alive, only if it is certainly that group."""
    if not _LINUX or not Path("/proc/self/stat").exists():
        return []
    if rec.pgid <= 0:
        return []  # written before its fork: only its containment (token, cgroup) finds what it started
    if rec.boot_id and not _same_pid_space(rec.boot_id):
        return []  # the machine rebooted since (nothing of it survives), or its pids are another PID namespace's
    members = group_members(rec.pgid)
    if not members:
        return []
    leader = dict(members).get(rec.pid)
    if leader is not None and leader != rec.start_ticks:
        return []  # the pid was reused by an unrelated process that leads its own group
    return [pid for pid, ticks in members if ticks >= rec.start_ticks]


def _killpg(pgid: int, sig: int) -> bool:
    if pgid <= 0:
        return False  # os.killpg(0, ...) would signal the runner's own group
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        log.warning("no permission to signal process group %d", pgid)
        return False


async def _until(cond: Callable[[], object], timeout_s: float, every_s: float = 0.05) -> bool:
    """Poll `cond` until it is true or `timeout_s` passes; return whether it came true.

    Polled, not awaited: the members of a process group need not be this process's children, so no
    wait() or event tells when they are gone.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if loop.time() >= end:
            return False
        await asyncio.sleep(every_s)
    return True


async def end_recorded(rec: ProcessRecord, *, grace_s: float = KILL_GRACE_S) -> bool:
    """End a recorded group that outlived its runner: SIGTERM (and SIGCONT), grace, SIGKILL.

    Returns True if a live member was found (and ended).

    Raises:
        TransientError: it could not be ended (then the stage must not run again yet).
    """
    found = False
    if verified_members(rec):
        found = True
        _killpg(rec.pgid, signal.SIGTERM)
        _killpg(rec.pgid, signal.SIGCONT)  # a frozen group gets its SIGTERM only once continued
        if not await _until(lambda: not verified_members(rec), grace_s):
            _killpg(rec.pgid, signal.SIGKILL)
            if not await _until(lambda: not verified_members(rec), 10):
                raise TransientError(f"process group {rec.pgid} of an earlier run does not end")
    contained = recorded(rec.token, rec.cgroup)
    if contained is not None:
        # What left the group (setsid, a daemon) still carries the command's token, or sits in its cgroup.
        try:
            found = await contained.end(grace_s) or found
        except TimeoutError as e:
            raise TransientError(str(e)) from None
    return found


async def end_leftovers(
    store: ProcessStore, job_id: int, stage_index: int | None, *, log: Callable[[str], None] | None = None
) -> int:
    """End every process group recorded for a job (or one stage) that may still be alive; return how many.

    Called before a command stage starts its first process, and on recovery of a dead runner's jobs.
    """
    records = await store.processes(job_id, stage_index, alive=True)
    if not records:
        return 0
    ended = 0
    for rec in records:
        if await end_recorded(rec):
            ended += 1
            what = f"process group {rec.pgid} (pid {rec.pid}," if rec.pid else "the processes of a command (its pid unrecorded,"
            text = f"ended {what} {' '.join(rec.argv)[:80]}) left by runner {rec.runner_id}"
            if log is not None:
                log(text)
    await store.forget_processes(job_id, records)
    return ended


__all__ = ["KILL_GRACE_S", "end_leftovers", "end_recorded", "group_members", "start_ticks", "verified_members"]
