"""AppHost: what the app's helpers (actions, refresh, quit, palette) use of the app, so that none imports it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from textual.widgets import Input

from ..client import Client
from ..model import Job, JobId, Stats
from .background import Background
from .feed import JobFeed
from .view import JobView
from .widgets.job_detail import JobDetailPane
from .widgets.job_list import JobTable
from .widgets.log_pane import LogView


class AppHost(Protocol):
    """The app as its helpers see it: its client, its data, its widgets, and how to tell the user."""

    client: Client
    feed: JobFeed
    view: JobView
    readonly: bool
    embedded: bool
    selected: JobId | None
    stats: Stats | None
    loaded: asyncio.Event
    bell_on_end: bool
    apps: tuple[str, ...]
    background: Background | None

    @property
    def screen_stack(self) -> Sequence[Any]:
        """Return the screens shown, the main one first (a dialog on top)."""
        ...

    @property
    def table(self) -> JobTable:
        """Return the job list."""
        ...

    @property
    def detail(self) -> JobDetailPane:
        """Return the detail pane."""
        ...

    @property
    def log_view(self) -> LogView:
        """Return the log pane."""
        ...

    @property
    def filter_input(self) -> Input:
        """Return the filter box."""
        ...

    @property
    def selected_job(self) -> Job | None:
        """Return the highlighted job."""
        ...

    def query_one(self, selector: str) -> Any:
        """Return the one widget `selector` matches."""
        ...

    def ui_ok(self) -> bool:
        """Tell whether the main widgets still exist."""
        ...

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Show a toast."""
        ...

    def bell(self) -> None:
        """Ring the terminal bell."""
        ...

    def run_worker(self, work: Any, *, name: str | None = "", group: str = "default", exclusive: bool = False) -> Any:
        """Run a coroutine beside the UI."""
        ...

    def push_screen(self, screen: Any, callback: Any = None) -> Any:
        """Show a screen (a dialog); `callback` gets its answer."""
        ...

    def exit(self, result: int | None = None) -> None:
        """Leave the app."""
        ...

    async def poll(self, *, full: bool = False) -> None:
        """Read what changed and show it (`full`: read the list's window even if nothing did)."""
        ...

    async def reload_list(self, *, top: int | None = None, show: JobId | None = None) -> None:
        """Read the list's window again (from row `top`; around job `show`, highlighting it)."""
        ...

    def bindings_changed(self) -> None:
        """Refresh the footer if the applicable actions changed."""
        ...

    def update_status(self, problem: str | None = None) -> None:
        """Redraw the status line."""
        ...

    def update_titles(self) -> None:
        """Redraw the job list's title."""
        ...

    def select_job(self, job_id: JobId) -> bool:
        """Highlight a job."""
        ...

    def empty_note(self) -> str:
        """Say why no job is shown."""
        ...

    async def stop_runner(self) -> None:
        """Stop the embedded runner."""
        ...


JobCommand = tuple[str, str, Callable[[], object]]
"""A palette entry: (title, help, callback)."""
