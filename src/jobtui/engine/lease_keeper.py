"""LeaseKeeper: renews a runner's lease from a thread of its own, on a database connection of its own.

A runner's heartbeat is a task on the event loop it shares with whatever embeds it. In the TUI that loop
also draws: a frame that took minutes (wrapping a 1 MiB log line, issue 14 item 3) stopped the heartbeat,
the lease lapsed in 10 s, and another runner would have taken the jobs while they still ran here. The
keeper renews the lease from a thread, so drawing cannot starve it; but only while the loop still answers
within `stall_limit_s`: a loop stuck for good lets the lease lapse, as a dead process would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from ..errors import StoreError
from ..store import LeaseStore
from .lease import lease_clock

log = logging.getLogger("jobtui.engine.lease")

STALL_LIMIT_S = 300.0
"""The longest the runner's event loop may go unanswered before the keeper stops renewing (5 min)."""


class LeaseKeeper:
    """Renews `runner_id`'s lease every `interval_s` from a thread, while the owner's event loop answers.

    Args:
        store: the runner's store; the keeper opens its own connection to the same database (`reopen`).
        runner_id: whose lease to renew.
        interval_s: how often (a third of the lease, as the runner's own heartbeat).
        on_renewed: called (from the keeper's thread) with the lease_clock() time each renewal began.
        stall_limit_s: renew only while the owner's loop answered within this long.
    """

    def __init__(self, store: LeaseStore, runner_id: str, *, interval_s: float, on_renewed: Callable[[float], None],
                 stall_limit_s: float = STALL_LIMIT_S) -> None:
        self.store = store
        self.runner_id = runner_id
        self.interval_s = interval_s
        self.on_renewed = on_renewed
        self.stall_limit_s = stall_limit_s
        self.renewals = 0
        """Leases renewed so far (for tests)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner: asyncio.AbstractEventLoop | None = None
        self._answered = lease_clock()
        """When (lease_clock) the owner's loop last ran a callback the keeper posted."""

    def start(self) -> None:
        """Start renewing (call from the owner's event loop)."""
        self._owner = asyncio.get_running_loop()
        self._answered = lease_clock()
        self._thread = threading.Thread(target=self._main, name="jobtui-lease-keeper", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Stop renewing and wait for the thread (without blocking the loop)."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)

    def _touch(self) -> None:
        self._answered = lease_clock()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._keep())
        except Exception:
            log.exception("the lease keeper stopped; the runner's own heartbeat goes on")
        finally:
            loop.close()

    async def _keep(self) -> None:
        store = await self.store.reopen()
        stalled = False
        try:
            while not await asyncio.to_thread(self._stop.wait, self.interval_s):
                owner = self._owner
                if owner is None or owner.is_closed():
                    return
                with contextlib.suppress(RuntimeError):  # the owner's loop closed meanwhile
                    owner.call_soon_threadsafe(self._touch)
                if lease_clock() - self._answered > self.stall_limit_s:
                    if not stalled:
                        log.warning("the runner's event loop has not answered for %.0f s; its lease is no longer"
                                    " renewed, so that other runners can take its jobs", self.stall_limit_s)
                    stalled = True
                    continue
                stalled = False
                began = lease_clock()
                try:
                    renewed = await store.heartbeat(self.runner_id)
                except StoreError as e:
                    log.warning("lease keeper: heartbeat failed: %s", e)
                    continue
                if renewed:  # else reclaimed: the runner's own heartbeat finds out and stops its jobs
                    self.renewals += 1
                    self.on_renewed(began)
        finally:
            await store.close()


__all__ = ["STALL_LIMIT_S", "LeaseKeeper"]
