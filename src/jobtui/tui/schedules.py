"""SchedulesScreen (key C): the recurring schedules with their next run, refreshed every second."""

from __future__ import annotations

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


def schedules_table(schedules: list[Schedule], now: int, tz: tzinfo | None = None) -> Table | Text:
    """Return the schedules as a table: name, when, type, next run (and in how long), last run, last job."""
    if not schedules:
        return Text("No schedules. Add one from a shell:  jobtui schedule add NAME --every 1h TYPE")
    table = Table(box=None, padding=(0, 2), expand=False, header_style="bold")
    for name in ("name", "when", "type", "next run", "last run", "last job"):
        table.add_column(Text(name), no_wrap=True)
    for s in schedules:
        when = Recurrence(s.cron, s.tz, s.every_ms, s.anchor_ms).describe()
        nxt = Text("paused") if s.paused else Text(f"{absolute(s.next_at_ms, tz)} · {until(s.next_at_ms, now)}")
        table.add_row(Text(clean(s.name)), Text(clean(when)), Text(clean(s.job_type)), nxt,
                      Text(ago(s.last_at_ms, now) if s.last_at_ms else "-"),
                      Text(f"#{s.last_job_id}" if s.last_job_id else "-"))
    return table


class SchedulesScreen(ModalScreen[None]):
    """Every schedule with its next run."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,C", "dismiss(None)", "Close")]

    def __init__(self, client: Client, *, clock: Clock, tz: tzinfo | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.clock = clock
        self.tz = tz
        self.schedules: list[Schedule] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help-dialog"):
            yield Static(Text("Schedules"), classes="dialog-title")
            yield Static(Text("Loading…"), id="schedules")
            yield Static(Text("esc, q or C closes · jobtui schedule add|pause|resume|rm manages them"),
                         classes="help")

    async def on_mount(self) -> None:
        await self.reload()
        self.set_interval(1.0, self.reload)

    async def reload(self) -> None:
        """Read the schedules again and show them."""
        try:
            self.schedules = await self.client.schedules()
        except JobtuiError as e:
            self.query_one("#schedules", Static).update(Text(str(e)))
            return
        self.query_one("#schedules", Static).update(schedules_table(self.schedules, self.clock(), self.tz))
