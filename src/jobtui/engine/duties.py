"""A runner's background duties (notifier, scheduler, retention): started beside its loop, stopped after it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .notify import Notifier
from .retention import Retention
from .scheduler import Scheduler

Duty = tuple[asyncio.Task[None], Callable[[], None]]
"""A running duty: its task and the call that asks it to stop."""


async def start_duties(
    notifier: Notifier | None, scheduler: Scheduler | None, retention: Retention | None
) -> list[Duty]:
    """Start the duties a runner has (None: it leaves that one to other runners), before its loop claims a job."""
    duties: list[Duty] = []
    if notifier is not None:
        # The jobs this runner starts from now on are told (`--notify-on started`): the notifier's look at the job
        # events begins here, not at its task's first round, which a quick first claim could pass.
        await notifier.life.begin()
        duties.append((asyncio.create_task(notifier.run(), name="jobtui-notify"), notifier.stop))
    if scheduler is not None:
        duties.append((asyncio.create_task(scheduler.run(), name="jobtui-schedule"), scheduler.stop))
    if retention is not None:
        duties.append((asyncio.create_task(retention.run(), name="jobtui-retention"), retention.stop))
    return duties


async def stop_duties(duties: list[Duty]) -> None:
    """Stop the duties, the last started first, and wait for each to end."""
    for task, stop in reversed(duties):
        stop()  # never cancelled: it may be inside a transaction
        await asyncio.gather(task, return_exceptions=True)
