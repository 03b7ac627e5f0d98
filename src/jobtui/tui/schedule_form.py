"""AddScheduleScreen (key a in the schedules screen): name, when (a period or a cron line), job type and params."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ..client import Client
from ..durations import parse_duration_ms
from ..errors import JobtuiError, UsageError
from ..model import Schedule
from .ask import show_error
from .ordered_input import OrderedInput

HINT = "when: a period (90s, 15m, 1h, 1d) or a cron line ('0 3 * * *', UTC unless a zone is given)"


def when_of(text: str) -> tuple[int | None, str | None]:
    """Return (every_ms, cron) of the form's `when`: a duration is a period, anything else a cron line.

    Raises:
        UsageError: nothing given.
    """
    t = text.strip()
    if not t:
        raise UsageError("when: give a period (1h) or a cron line (0 3 * * *)")
    if len(t.split()) == 1:
        return parse_duration_ms(t), None  # one word is a period; its error names the duration
    return None, t


def params_of(text: str) -> dict[str, Any]:
    """Parse the params field: a JSON object, or nothing (the type's defaults).

    Raises:
        UsageError: not a JSON object.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"params: not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(value, dict):
        raise UsageError('params: a JSON object, e.g. {"items": 3}')
    return value


class AddScheduleScreen(ModalScreen[Schedule | None]):
    """A form for `jobtui schedule add NAME --every|--cron WHEN TYPE -p ...`; ctrl+s or enter adds it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "add", "Add"),
    ]

    def __init__(self, client: Client) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client

    def compose(self) -> ComposeResult:
        names = self.client.type_names
        default = self.client.default_type()
        with Vertical(classes="dialog form"):
            yield Static(Text("New schedule"), classes="dialog-title")
            for label, field in (
                ("Name", OrderedInput(placeholder="nightly-report", id="sched-name", compact=True)),
                ("When", OrderedInput(placeholder="1h  or  0 3 * * *", id="sched-when", compact=True)),
                ("Zone", OrderedInput(placeholder="UTC (cron only)", id="sched-tz", compact=True)),
                ("Type", Select([(Text(n), n) for n in names], value=default if default in names else names[0],
                                allow_blank=False, id="sched-type", compact=True)),
                ("Params", OrderedInput(placeholder='{"items": 3}  (JSON; empty: defaults)', id="sched-params",
                                        compact=True)),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield field
            yield Static(Text(HINT), classes="help")
            yield Static(id="form-error", classes="hidden")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Add (ctrl+s)", id="add", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#sched-name", Input).focus()

    def _error(self, message: str) -> None:
        show_error(self.query_one("#form-error", Static), message)

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value.strip()

    @on(Input.Submitted)
    @on(Button.Pressed, "#add")
    async def action_add(self) -> None:
        """Check and store the schedule; show what is wrong instead."""
        kind = self.query_one("#sched-type", Select).value
        try:
            every_ms, cron = when_of(self._value("sched-when"))
            schedule = await self.client.add_schedule(
                self._value("sched-name"), str(kind), params_of(self._value("sched-params")), cron=cron,
                tz=self._value("sched-tz") or None, every_ms=every_ms)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(schedule)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
