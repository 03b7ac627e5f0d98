"""Run the app on uvicorn in this process's event loop, beside an embedded runner unless attached.

SIGTERM or SIGINT: stop accepting, end every stream with a `shutdown` event, hand the runner's jobs back
at a safe point (as `jobtui run` does), return 0. A second signal forces the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from ..client import Client
from .app import create_app
from .feed import EventFeed
from .settings import Settings

log = logging.getLogger("jobtui.server")


@dataclass(frozen=True, slots=True)
class Serving:
    """How `jobtui serve` runs: the app's settings plus the process's own options."""

    settings: Settings
    attach: bool = False
    """Serve only: `jobtui run` processes work on the database."""
    concurrency: int = 4
    certfile: str | None = None
    keyfile: str | None = None


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ours stops the runner and the streams too, and exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(client: Client, how: Serving) -> int:
    """Serve until SIGTERM/SIGINT; return the exit status."""
    app = create_app(client, how.settings)
    config = uvicorn.Config(
        app, host=how.settings.host, port=how.settings.port, log_level="warning", access_log=False,
        lifespan="on", timeout_graceful_shutdown=5, ssl_certfile=how.certfile, ssl_keyfile=how.keyfile,
        proxy_headers=False, server_header=False,
    )
    server = _Server(config)
    runner_task: asyncio.Task[None] | None = None
    if not how.attach:
        await client.embedded_runner(concurrency=how.concurrency)
        runner_task = asyncio.create_task(client.run_embedded(), name="jobtui-serve-runner")
    feed: EventFeed = app.state.feed
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        feed.closing.set()
        server.should_exit = True
        client.stop_embedded(force=signals > 1)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await server.serve()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if runner_task is not None:
            client.stop_embedded()
            await runner_task
    return 0 if server.started else 1
