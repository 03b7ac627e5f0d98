"""QueuesScreen (key Q): every queue with its limits and counts; p pauses, P pauses now, r resumes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..client import Client
from ..errors import JobtuiError
from ..model import JobId, Queue
from .format import clean

REFRESH_S = 1.0
"""How often the queues view reads the queues again."""

COLUMNS = ("name", "state", "running", "waiting", "limits")


def limits_text(q: Queue) -> str:
    """Return a queue's limits in a few words: `2 at once · 1/runner · 5/10s · slots`."""
    lim = q.limits
    parts = [f"{lim.concurrency} at once" if lim.concurrency is not None else "",
             f"{lim.per_runner}/runner" if lim.per_runner is not None else "", lim.rate_text() or "",
             "slots" if lim.slots else ""]
    return " · ".join(p for p in parts if p) or "no limits"


def queue_row(q: Queue) -> tuple[Text, ...]:
    """Return the cells of one queue's row."""
    running = f"{q.running}/{q.limits.concurrency}" if q.limits.concurrency is not None else str(q.running)
    state = Text("‖ paused", style="yellow") if q.paused else Text("● active", style="green")
    return (Text(clean(q.name)), state, Text(running), Text(str(q.waiting)), Text(limits_text(q)))


class QueuesScreen(ModalScreen[None]):
    """Every queue: state, running (of its concurrency), waiting, limits; pause and resume the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,Q", "dismiss(None)", "Close"),
        Binding("p", "pause(False)", "Pause"),
        Binding("P", "pause(True)", "Pause now"),
        Binding("r", "resume", "Resume"),
    ]

    def __init__(self, client: Client, *, readonly: bool = False) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.readonly = readonly
        self.queues: list[Queue] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static(Text("Queues"), classes="dialog-title")
            table: DataTable[Text] = DataTable(id="queues", cursor_type="row", zebra_stripes=False)
            for name in COLUMNS:
                table.add_column(Text(name), key=name)
            yield table
            yield Static(Text("Loading…"), id="queues-note")
            hint = "esc closes" if self.readonly else "p pause · P pause with its running jobs · r resume · esc closes"
            yield Static(Text(hint + " · jobtui queue add|edit|rm manages them"), classes="help")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.call_after_refresh(self.reload)
        self.set_interval(REFRESH_S, self.reload)

    @property
    def selected(self) -> Queue | None:
        """Return the highlighted queue."""
        table = self.query_one(DataTable)
        if not self.queues or table.cursor_row < 0:
            return None
        return self.queues[min(table.cursor_row, len(self.queues) - 1)]

    async def reload(self) -> None:
        """Read the queues again and show them, keeping the highlighted one."""
        note = self.query_one("#queues-note", Static)
        try:
            queues = await self.client.queues()
        except JobtuiError as e:
            note.update(Text(str(e)))
            return
        table = self.query_one(DataTable)
        keep = self.selected.name if self.selected is not None else None
        self.queues = queues
        table.clear()
        for q in queues:
            table.add_row(*queue_row(q), key=q.name)
        if keep is not None and keep in {q.name for q in queues}:
            table.move_cursor(row=table.get_row_index(keep))
        note.update(Text("" if queues else "No queues. Add one from a shell:  jobtui queue add NAME --concurrency 2"))

    async def action_pause(self, now: bool) -> None:
        """Pause the highlighted queue (with `now`, its running jobs too)."""
        await self._steer(lambda name: self.client.pause_queue(name, now=now), "paused")

    async def action_resume(self) -> None:
        """Resume the highlighted queue (and the jobs its pause --now paused)."""
        await self._steer(self.client.resume_queue, "resumed")

    async def _steer(self, act: Callable[[str], Awaitable[tuple[Queue, list[JobId]]]], what: str) -> None:
        queue = self.selected
        if self.readonly or queue is None:
            if self.readonly:
                self.notify("Read-only (--readonly): queues are not steered here.", severity="warning")
            return
        try:
            _q, jobs = await act(queue.name)
        except JobtuiError as e:
            self.notify(str(e), severity="error")
            return
        self.notify(f"queue {queue.name} {what}" + (f" ({len(jobs)} job(s))" if jobs else ""))
        await self.reload()
