"""SchedulesScreen (key C): the recurring schedules with their next run, refreshed every second; p pauses the
highlighted one, r resumes it, a adds one (as `jobtui schedule pause|resume|add`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..client import Client
from ..errors import JobtuiError
from ..model import Schedule
from ..recurrence import Recurrence
from ..wording import absolute, ago, until
from .format import Clock, clean

_PAD = 2
"""Spaces between two columns."""
_DROP = ("last job", "last run")
"""Columns given up, in this order, when the table is wider than the screen (after the next run's date)."""
_KEEP = {"name": 24, "type": 16}
"""Columns that shrink last: never below this many characters (or their whole text when shorter)."""


def _fit(header: list[str], rows: list[list[str]], width: int | None) -> tuple[list[str], list[list[str]]]:
    """Drop the less important parts until the table's natural width fits `width`: date of the next run, then columns."""
    def total(h: list[str], rs: list[list[str]]) -> int:
        return sum(max(len(c) for c in col) for col in zip(h, *rs, strict=True)) + _PAD * (len(h) - 1)

    if width is None or total(header, rows) <= width:
        return header, rows
    nxt = header.index("next run")
    rows = [[c.split(" · ", 1)[-1] if i == nxt else c for i, c in enumerate(r)] for r in rows]
    for name in _DROP:
        if total(header, rows) <= width:
            break
        i = header.index(name)
        header = header[:i] + header[i + 1:]
        rows = [r[:i] + r[i + 1:] for r in rows]
    return header, rows


def schedules_table(schedules: list[Schedule], now: int, tz: tzinfo | None = None, width: int | None = None,
                    selected: int | None = None) -> Table | Text:
    """Return the schedules as a table: name, when, type, next run (and in how long), last run, last job.

    With `width`, the table fits it: the next run's date, then the last job and the last run go first, and
    the name and the type shrink last (issue 15 item 11: they were cut to one letter). Row `selected` is shown
    reversed, with a mark.
    """
    if not schedules:
        return Text("No schedules. a adds one (or from a shell: jobtui schedule add NAME --every 1h TYPE)")
    header = ["name", "when", "type", "next run", "last run", "last job"]
    rows = []
    for s in schedules:
        when = Recurrence(s.cron, s.tz, s.every_ms, s.anchor_ms).describe()
        nxt = "paused" if s.paused else f"{absolute(s.next_at_ms, tz)} · {until(s.next_at_ms, now)}"
        rows.append([clean(s.name), clean(when), clean(s.job_type), nxt,
                     ago(s.last_at_ms, now) if s.last_at_ms else "-", f"#{s.last_job_id}" if s.last_job_id else "-"])
    header, rows = _fit(header, rows, width)
    table = Table(box=None, padding=(0, _PAD, 0, 0), expand=False, header_style="bold")
    for i, name in enumerate(header):
        keep = min(_KEEP[name], max(len(r[i]) for r in rows)) if name in _KEEP else None
        table.add_column(Text(name), no_wrap=True, min_width=keep, overflow="ellipsis")
    for i, r in enumerate(rows):
        table.add_row(*(Text(c) for c in r), style="reverse" if i == selected else None)
    return table


class SchedulesScreen(ModalScreen[None]):
    """Every schedule with its next run."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,C", "dismiss(None)", "Close"),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("a", "add", "Add"),
    ]

    def __init__(self, client: Client, *, clock: Clock, tz: tzinfo | None = None, readonly: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.clock = clock
        self.tz = tz
        self.readonly = readonly
        self.schedules: list[Schedule] = []
        self.cursor = 0
        """The highlighted schedule's row."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog"):
            yield Static(Text("Schedules"), classes="dialog-title")
            yield Static(Text("Loading…"), id="schedules")
            hint = "" if self.readonly else "↑ ↓ choose · p pause · r resume · a add · "
            yield Static(Text(hint + "esc, q or C closes · jobtui schedule rm removes one"), classes="help")

    def on_mount(self) -> None:
        # After the first layout: the table is fitted to the dialog's width.
        self.call_after_refresh(self.reload)
        self.set_interval(1.0, self.reload)

    async def reload(self) -> None:
        """Read the schedules again and show them."""
        try:
            self.schedules = await self.client.schedules()
        except JobtuiError as e:
            self.query_one("#schedules", Static).update(Text(str(e)))
            return
        self.cursor = max(0, min(self.cursor, len(self.schedules) - 1))
        self.redraw()

    def redraw(self) -> None:
        """Show the schedules read last, the highlighted one reversed."""
        shown = self.query_one("#schedules", Static)
        width = shown.content_region.width or max(20, self.app.size.width - 12)
        shown.update(schedules_table(self.schedules, self.clock(), self.tz, width, self.cursor))

    @property
    def selected(self) -> Schedule | None:
        """Return the highlighted schedule."""
        return self.schedules[self.cursor] if 0 <= self.cursor < len(self.schedules) else None

    def action_move(self, step: int) -> None:
        """Highlight the previous or the next schedule."""
        self.cursor = max(0, min(self.cursor + step, len(self.schedules) - 1))
        self.redraw()

    async def action_pause(self) -> None:
        """Stop the highlighted schedule from firing until resumed."""
        await self._steer(self.client.pause_schedule, "paused")

    async def action_resume(self) -> None:
        """Fire the highlighted schedule again from its next occurrence."""
        await self._steer(self.client.resume_schedule, "resumed")

    async def _steer(self, act: Callable[[str], Awaitable[object]], what: str) -> None:
        schedule = self.selected
        if self.readonly:
            self.notify("Read-only (--readonly): schedules are not steered here.", severity="warning")
            return
        if schedule is None:
            return
        try:
            await act(schedule.name)
        except JobtuiError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        self.notify(f"schedule {schedule.name} {what}", markup=False)
        await self.reload()

    def action_add(self) -> None:
        """Open the form that adds a schedule; highlight it once added."""
        if self.readonly:
            self.notify("Read-only (--readonly): schedules are not added here.", severity="warning")
            return
        from .schedule_form import AddScheduleScreen

        async def added(schedule: Schedule | None) -> None:
            if schedule is None:
                return
            await self.reload()
            names = [s.name for s in self.schedules]
            if schedule.name in names:
                self.cursor = names.index(schedule.name)
                self.redraw()
            self.notify(f"schedule {schedule.name} added: next run {until(schedule.next_at_ms, self.clock())}",
                        markup=False)

        self.app.push_screen(AddScheduleScreen(self.client), added)
