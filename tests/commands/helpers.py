"""Helpers for command-job tests: specs, running a runner beside a test, finding processes by a marker."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jobtui import Runner
from jobtui.client import Client


def mark() -> str:
    """Return a fresh marker to put in a command's environment (its children inherit it)."""
    return uuid.uuid4().hex


def spec(run: Any, name: str = "run", **kw: Any) -> dict[str, Any]:
    """Return a stage spec with a marker-free default environment."""
    return {"name": name, "run": run, "env": kw.pop("env", {}), "retry_base_s": kw.pop("retry_base_s", 0.05), **kw}


def procs_with(marker: str) -> list[int]:
    """Return the pids of live (not zombie) processes whose environment holds TESTMARK=marker."""
    want = f"TESTMARK={marker}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{d}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if want in env and state not in (b"Z", b"X"):
            out.append(int(d))
    return out


def proc_state(pid: int) -> str:
    """Return a process's state letter (R, S, T, Z...) or '' when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except OSError:
        return ""


def all_stopped(pids: list[int]) -> bool:
    """Tell whether every process is stopped (T), a zombie, gone, or blocked in vfork on a stopped child.

    A shell (dash) starts a command with vfork: a SIGSTOP that reaches the child before its exec leaves the
    parent waiting for it, uninterruptibly (D), doing nothing until the child is continued.
    """
    states = {p: proc_state(p) for p in pids}

    def waits_on_stopped(pid: int) -> bool:
        return any(states[c] == "T" and _ppid(c) == pid for c in pids)

    return all(s in ("T", "Z", "") or (s == "D" and waits_on_stopped(p)) for p, s in states.items())


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return 0


@asynccontextmanager
async def running(client: Client, **kw: Any) -> AsyncIterator[Runner]:
    """Run a runner on the client's store in the background for the block; stop it after."""
    kw.setdefault("concurrency", 4)
    kw.setdefault("poll_s", 0.05)
    kw.setdefault("control_poll_s", 0.05)
    runner = Runner(client.store, client.registry, **kw)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        runner.stop(force=True)
        await asyncio.wait_for(task, 30)


async def output_lines(client: Client, job_id: int, stream: str = "stdout") -> list[str]:
    """Return the job's logged output lines of one stream."""
    return [ln.message for ln in await client.logs(job_id, limit=100_000) if ln.level == stream]
