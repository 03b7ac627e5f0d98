"""Open the TUI for the command line: typed options, the embedded runner, signals, the exit message."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..client import Client
from ..errors import UsageError
from ..model import RunnerInfo

if TYPE_CHECKING:
    from .app import JobtuiApp

HANGUP_GRACE_S = 3.0
"""After a hangup and the jobs handed back, how long the UI may take to close before the process just exits."""
HANGUP_LIMIT_S = 30.0
"""After a hangup, the longest the jobs may take to be handed back before the process exits anyway."""


@dataclass(frozen=True, slots=True)
class TuiOptions:
    """How the CLI opens the TUI (`jobtui`, `jobtui tui`, `jobtui demo`)."""

    attach: bool = False
    """No runner in this process: watch and steer a `jobtui run`."""
    readonly: bool = False
    """Show the jobs, steer nothing (no runner either)."""
    concurrency: int = 4
    """Jobs the embedded runner runs at once."""
    theme: str | None = None
    """A theme name; None: the one chosen last time, else the default."""
    demo: bool = False
    """Seed the demo jobs first."""
    apps: tuple[str, ...] = ()
    """The --app modules, passed on to a background runner."""
    bell: bool = True
    """Ring the terminal bell when a job ends or auto-pauses."""
    keymap: Mapping[str, str] = field(default_factory=dict)
    """The config file's [keys]: action id -> keys (checked before the screen opens)."""
    poll_s: float | None = None
    """How often the TUI reads the database (None: the default, refresh.POLL_S)."""


def _exit_after_hangup(handed_back: threading.Event) -> None:
    """Exit once the jobs are handed back (or at the limit), from a thread of its own: should the UI not close."""
    handed_back.wait(HANGUP_LIMIT_S)
    time.sleep(HANGUP_GRACE_S)
    os._exit(0)


def _silence_output() -> None:
    """Point stdout and stderr at /dev/null: with the terminal gone, no later write (a print, a log) can fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass


async def _leave_after_hangup(app: JobtuiApp, handed_back: threading.Event) -> None:
    """Hand the jobs back first, then close the UI (the terminal is gone)."""
    try:
        await app.stop_runner()
    finally:
        handed_back.set()
        app.exit(0)


def attach_note(runners: Sequence[RunnerInfo]) -> str:
    """Say that this window attached to the runners already at work instead of starting one of its own."""
    first = runners[0]
    who = f"{first.name or 'runner'} (pid {first.pid} on {first.hostname})"
    more = f" and {len(runners) - 1} more" if len(runners) > 1 else ""
    return (f"Jobs run in {who}{more}: attached to the runner, none started here. "
            "Quit leaves them running; `jobtui runners` lists runners.")


async def _runner_here(client: Client, options: TuiOptions) -> list[RunnerInfo]:
    """Start the embedded runner unless attached or read-only; return the runners at work instead, if any.

    A runner already at work on this database (the background one "keep them running" left, a `jobtui run`):
    the TUI attaches to it rather than start a second one here (issue 19, item 6).
    """
    if options.attach or options.readonly:
        return []
    others = await client.live_runners()
    if not others:
        await client.embedded_runner(concurrency=options.concurrency)
    return others


async def run_tui(client: Client, options: TuiOptions) -> int:
    """Open the TUI and return the exit status."""
    from textual.drivers.linux_driver import LinuxDriver

    from ..seed import seed_demo
    from .app import make_app
    from .keymap import check_keymap
    from .settings import settings_path
    from .terminal import Terminal

    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    keymap = check_keymap(options.keymap)  # a clash is one line here, before the screen opens
    if options.demo:
        await seed_demo(client)
    others = await _runner_here(client, options)
    app = make_app(client, readonly=options.readonly, theme=options.theme, apps=options.apps, bell=options.bell,
                   settings=settings_path())
    if others:
        app.notify(attach_note(others), title="Attached", timeout=12, markup=False)  # shown once the screen is up
    if keymap:
        app.set_keymap(keymap)
    if options.poll_s is not None:
        app.poll_s = options.poll_s
    loop = asyncio.get_running_loop()
    leaving: list[asyncio.Task[None]] = []

    def gone() -> None:
        # From Textual's writer thread: a write to the terminal failed, so it is gone, SIGHUP or not.
        try:
            loop.call_soon_threadsafe(stop, True)
        except RuntimeError:
            pass  # the loop has closed: the TUI has ended already

    terminal = Terminal(gone)
    if app.driver_class is LinuxDriver:
        app.driver_class = terminal.driver_class()

    def stop(hangup: bool) -> None:
        # SIGTERM, or the terminal / SSH connection is gone (SIGHUP, or a write to it failed): hand the jobs
        # back at a checkpoint, leave.
        if not hangup:
            client.stop_embedded()
            app.exit(0)
            return
        if leaving:
            return
        terminal.leave()
        _silence_output()
        client.stop_embedded()
        handed_back = threading.Event()
        threading.Thread(target=_exit_after_hangup, args=(handed_back,), name="jobtui-hangup-exit",
                         daemon=True).start()
        leaving.append(asyncio.create_task(_leave_after_hangup(app, handed_back), name="jobtui-hangup"))

    handled = []
    for sig, hangup in ((signal.SIGHUP, True), (signal.SIGTERM, False)):
        try:
            loop.add_signal_handler(sig, stop, hangup)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        code = await app.run_async()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await app.stop_runner()
    if app.background is not None:
        bg = app.background
        print(f"jobtui: jobs keep running in a background runner (pid {bg.pid}; log {bg.log})", file=sys.stderr)
    return code if isinstance(code, int) else 0


def theme_names() -> list[str]:
    """Return every name `--theme` takes (jobtui's themes, their aliases, Textual's), for shell completion."""
    from textual.theme import BUILTIN_THEMES

    from .themes import ALIASES, THEMES

    return sorted({*ALIASES, *(t.name for t in THEMES), *BUILTIN_THEMES})


def key_actions() -> dict[str, tuple[str, str]]:
    """Return every TUI action the config file's [keys] can rebind: id -> (default keys, what it does)."""
    from .keymap import actions

    return {action: (keys, what) for action, (_scope, keys, what) in actions().items()}
