"""Modal screens: confirm, rewind chooser, new-job form, the quit dialog and the log search line."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ..client import Client
from ..errors import JobtuiError
from ..model import JobDetail, JobId, StageStatus, is_secret_name, redact
from .ask import show_error
from .command_form import (
    COMMAND_KINDS,
    HELP,
    ITEMS_HINT,
    LABELS,
    build_job,
    build_rows,
)
from .format import STAGE_GLYPH, clean
from .ordered_input import OrderedInput


class _Dialog(ModalScreen[Any]):
    """A small centred dialog; left/right move between its buttons."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,up", "app.focus_previous", show=False),
        Binding("right,down", "app.focus_next", show=False),
    ]


class ConfirmScreen(_Dialog):
    """Ask yes or no; the safe answer (no) has the focus, and escape means no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, title: str, message: str | Text, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="dialog-title")
            yield Static(self.message if isinstance(self.message, Text) else Text(self.message), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no} (n)", id="no", variant="primary")
                yield Button(f"{self.yes} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class RewindScreen(_Dialog):
    """Choose the stage to run a job again from."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, detail: JobDetail) -> None:
        super().__init__(classes="dialog-screen")
        self.detail = detail

    def compose(self) -> ComposeResult:
        job = self.detail.job
        options = []
        for s in self.detail.stages:
            label = Text(f"{s.index + 1:>2}  {STAGE_GLYPH.get(s.status, '?')} {clean(s.name):<24} {s.status.value}")
            options.append(Option(label, id=s.name))
        with Vertical(classes="dialog"):
            yield Static(Text(f"Rewind job {job.job_id} ({job.status.value})"), classes="dialog-title")
            yield Static(Text("Run it again from the chosen stage: that stage and every later one are redone, "
                              "earlier ones keep their results. Enter chooses, escape cancels."), classes="dialog-body")
            yield OptionList(*options, id="stages")

    def on_mount(self) -> None:
        stages = self.query_one("#stages", OptionList)
        failed = [s.index for s in self.detail.stages if s.status is StageStatus.FAILED]
        stages.highlighted = failed[0] if failed else 0
        stages.focus()

    @on(OptionList.OptionSelected, "#stages")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class NewJobScreen(ModalScreen[JobId | None]):
    """A form: choose the job type, fill its params and a priority; submit queues the job."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Submit"),
    ]

    def __init__(self, client: Client) -> None:
        super().__init__(classes="dialog-screen")
        self.client = client
        self.types = {t.name: t for t in client.types()}
        self._fields: dict[str, Input | Select[Any]] = {}
        self._command_fields: dict[str, Input | Checkbox | Select[str]] = {}
        """The fields of a command job (command, pipeline, foreach): built as the CLI builds it."""

    @property
    def fields(self) -> Mapping[str, Input | Select[Any]]:
        """Return the fields of the chosen type's params, by param name (empty until built, and for commands)."""
        return MappingProxyType(self._fields)

    @property
    def command_fields(self) -> Mapping[str, Input | Checkbox | Select[str]]:
        """Return the fields of a command, pipeline or foreach job, by name (empty for other types)."""
        return MappingProxyType(self._command_fields)

    def compose(self) -> ComposeResult:
        names = list(self.types)
        default = self.client.default_type()
        first = default if default in self.types else names[0]
        with Vertical(classes="dialog form"):
            yield Static(Text("New job"), classes="dialog-title")
            # One scroll for the whole form (at 80x24 it does not fit); not a Tab stop itself.
            with VerticalScroll(id="form-body", can_focus=False):
                with Horizontal(classes="form-row"):
                    yield Label("Type", classes="form-label")
                    yield Select([(Text(LABELS.get(n, n)), n) for n in names], value=first, allow_blank=False, id="type",
                                 compact=True)
                yield Static(id="type-help", classes="help")
                yield Vertical(id="params")
                with Horizontal(classes="form-row"):
                    yield Label("Priority", classes="form-label")
                    yield OrderedInput("0", type="integer", id="priority", compact=True)
            yield Static(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Submit (ctrl+s)", id="submit", variant="primary", compact=True)

    async def on_mount(self) -> None:
        await self._build(self.query_one("#type", Select).value)  # type: ignore[arg-type]
        self.query_one("#type", Select).focus()

    @on(Select.Changed, "#type")
    async def _type_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            await self._build(event.value)

    async def _build(self, name: str) -> None:
        jt = self.types[name]
        box = self.query_one("#params", Vertical)
        await box.remove_children()
        self._fields = {}
        self._command_fields = {}
        if name in COMMAND_KINDS:
            self.query_one("#type-help", Static).update(Text(HELP[name]))
            command_rows, fields = build_rows(name)
            await box.mount_all(command_rows)
            self._command_fields = fields
            self._error("")
            return
        self.query_one("#type-help", Static).update(
            Text(f"{clean(jt.description)}\nstages: {' → '.join(jt.stage_names)}")
        )
        rows: list[Widget] = []
        for i, (pname, spec) in enumerate(jt.params.items()):
            required = spec.required
            field: Input | Select[Any]
            if spec.choices:
                options = [(Text(str(c) if c != "" else "(none)"), c) for c in spec.choices]
                field = Select(options, value=spec.default if not required else spec.choices[0], allow_blank=False,
                               id=f"param-{i}", compact=True)
            else:
                # A secret's default is never shown (redact masks it by its name).
                placeholder = "required" if required else f"default: {redact({pname: spec.default})[pname]!r}"
                field = OrderedInput(placeholder=placeholder, password=is_secret_name(pname), id=f"param-{i}", compact=True)
            self._fields[pname] = field
            label = Label(Text(f"{pname}{' *' if required else ''}"), classes="form-label")
            note = Static(Text(f"{spec.type.__name__}" + (f" · {spec.help}" if spec.help else "")),
                          classes="help field-help")
            rows.append(Horizontal(label, field, note, classes="form-row"))
        await box.mount_all(rows)
        self._error("")

    def _error(self, message: str) -> None:
        show_error(self.query_one("#form-error", Static), message)

    def values(self) -> tuple[str, dict[str, Any], int]:
        """Return the chosen type, the params given (empty ones take their default) and the priority."""
        name = self.query_one("#type", Select).value
        assert isinstance(name, str)
        params: dict[str, Any] = {}
        for pname, field in self._fields.items():
            if isinstance(field, Select):
                if field.value is not Select.NULL:
                    params[pname] = field.value
            elif field.value.strip() != "":
                params[pname] = field.value.strip()
        text = self.query_one("#priority", Input).value.strip() or "0"
        try:
            if not text.isascii() or len(text) > 19:  # int() also reads '٣' as 3
                raise ValueError(text)
            priority = int(text)
        except ValueError:
            priority = 0
        return name, params, priority

    @on(Select.Changed, "#cmd-source")
    def _source_changed(self, event: Select.Changed) -> None:
        items = self._command_fields.get("items")
        if isinstance(items, Input) and isinstance(event.value, str):
            items.placeholder = ITEMS_HINT[event.value]

    @on(Input.Blurred, "#cmd-file")
    def _check_pipeline(self) -> None:
        """Read the pipeline file as soon as its path is typed: its errors show before submitting."""
        if self._command_fields and _field_text(self._command_fields.get("file")):
            try:
                build_job("pipeline", self._command_fields)
            except JobtuiError as e:
                self._error(str(e))
            else:
                self._error("")

    @on(Input.Submitted)
    async def _enter(self) -> None:
        await self.action_submit()

    @on(Button.Pressed, "#submit")
    async def _submit_pressed(self) -> None:
        await self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    async def action_submit(self) -> None:
        """Validate and queue the job; show what is wrong instead when it does not validate."""
        name, params, priority = self.values()
        try:
            if name in COMMAND_KINDS:
                name, params = build_job(name, self._command_fields)
            job_id = await self.client.submit(name, params, priority=priority)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(job_id)


def _field_text(field: object) -> str:
    return field.value.strip() if isinstance(field, Input) else ""


class QuitScreen(_Dialog):
    """Jobs run in this process: keep them running in the background, pause them, or stop them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "choose('keep')", show=False),
        Binding("p", "choose('pause')", show=False),
        Binding("s", "choose('stop')", show=False),
        Binding("escape", "choose(None)", show=False),
    ]

    def __init__(self, running: int) -> None:
        super().__init__(classes="dialog-screen")
        self.running = running

    def compose(self) -> ComposeResult:
        n = self.running
        with Vertical(classes="dialog quit-dialog"):
            yield Static(Text(f"{n} job{'s' if n != 1 else ''} running"), classes="dialog-title")
            yield Static(Text("They run inside this window. What should happen to them when it closes? "
                              "No work is lost either way: every job continues from its last checkpoint."),
                         classes="dialog-body")
            with Vertical(classes="dialog-choices"):
                yield Button("Keep them running in the background (k)", id="keep", variant="primary", compact=True)
                yield Button("Pause them (p)", id="pause", compact=True)
                yield Button("Stop them; resume on the next launch (s)", id="stop", compact=True)
                yield Button("Don't quit (esc)", id="stay", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)


class SearchScreen(ModalScreen[str | None]):
    """One line at the bottom: what to find in the log (enter finds, escape cancels, empty clears)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, term: str = "") -> None:
        super().__init__(classes="search-screen")
        self.term = term

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield Label("find in log:", id="search-label")
            yield OrderedInput(self.term, placeholder="text (enter: find, then n / N; esc: cancel)", id="search",
                        compact=True)

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())
