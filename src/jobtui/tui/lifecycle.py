"""RunnerLifecycle: the embedded runner as a task beside the UI: start it, tell whether it runs, stop it, say why it ended."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..client import Client


class RunnerLifecycle:
    """Run the client's embedded runner as an asyncio task, and report how it ends."""

    def __init__(self, client: Client, *, on_error: Callable[[str], None], on_change: Callable[[], None]) -> None:
        self.client = client
        self._on_error = on_error
        """Told, once, why the runner stopped by itself (not when asked to stop)."""
        self._on_change = on_change
        """Told when the runner starts stopping (to redraw the status line)."""
        self.task: asyncio.Task[None] | None = None
        self.error: str | None = None
        """Why the runner stopped by itself (`Type: message`), if it did."""
        self.stopping = False
        """stop() was called: the runner hands its jobs back and claims nothing."""

    def start(self) -> None:
        """Start the embedded runner as a task."""
        self.task = asyncio.create_task(self.client.run_embedded(), name="jobtui-embedded-runner")
        self.task.add_done_callback(self._done)

    @property
    def alive(self) -> bool:
        """Tell whether the embedded runner runs (started and not finished)."""
        return self.task is not None and not self.task.done()

    @property
    def ended(self) -> bool:
        """Tell whether it was started and has finished."""
        return self.task is not None and self.task.done()

    def _done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self.stopping:
            self.error = f"{type(error).__name__}: {error}"
            self._on_error(self.error)

    async def stop(self) -> None:
        """Stop the embedded runner: running jobs reach a safe point and go back to queued (or paused)."""
        task = self.task
        if task is None or task.done():
            return
        self.stopping = True
        self.client.stop_embedded()
        self._on_change()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                raise
        except Exception:
            return
