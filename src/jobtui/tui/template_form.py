"""`n`: the new-job form with the saved templates, labels and a queue (issue 21 items 1, 2 and 4).

Choosing a template sets the form's type, fills its params, priority, labels and queue from the template and
says which other options come with it (retries, timeout, needs, ...); every field stays editable. Submitting
queues the job as `jobtui submit --template NAME -p ...` does (`Client.submit_template`): the template's type,
params and options, the form's params, priority, labels (merged) and queue over them. `(none)` gives the plain
form back. Labels (`k=v k2=v2`) and a queue (when the database has queues) apply to every job the form makes,
as `--label` and `--queue` do on the command line.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rich.text import Text
from textual import events, on
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from ..client import Client
from ..errors import JobtuiError
from ..labels import Labels, check_labels
from ..templates import Template
from .command_form import COMMAND_KINDS, build_job
from .format import clean
from .screens import NewJobScreen

NONE = ""
"""The template choice that means none (the plain form)."""


def options_text(t: Template) -> str:
    """Return the options of a template the form has no field for, in one line (secrets are never among them)."""
    o = t.options
    parts = [f"max retries {o['max_retries']}" if o.get("max_retries") is not None else "",
             f"timeout {o['timeout_ms'] / 1000:g}s" if o.get("timeout_ms") else "",
             f"needs {', '.join(o['needs'])}" if o.get("needs") else "",
             f"notify ({len(o['notify'])})" if o.get("notify") else ""]
    shown = " · ".join(p for p in parts if p)
    return f"template {t.name}: {t.job_type}" + (f" · {shown}" if shown else "")


class TemplateJobScreen(NewJobScreen):
    """The new-job form with a Template choice above its type (when templates of known types exist)."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.templates: dict[str, Template] = {}
        self.template: Template | None = None
        """The template chosen (None: the plain form)."""

    async def on_mount(self, event: events.Mount | None = None) -> None:
        if event is not None:
            event.prevent_default()  # Textual would call the form's own on_mount again after this one
        await super().on_mount()
        try:
            listed = await self.client.templates()
        except JobtuiError as e:
            self._error(str(e))
            return
        await self._mount_labels_and_queue()
        self.templates = {t.name: t for t in listed if t.job_type in self.types}
        if not self.templates:
            return
        choices = [(Text("(none)"), NONE)] + [(Text(f"{clean(n)}  ({clean(t.job_type)})"), n)
                                               for n, t in self.templates.items()]
        row = Horizontal(Label("Template", classes="form-label"),
                         Select(choices, value=NONE, allow_blank=False, id="template", compact=True),
                         classes="form-row")
        body = self.query_one("#form-body", VerticalScroll)
        await body.mount(row, before=0)
        self.query_one("#template", Select).focus()

    @on(Select.Changed, "#template")
    async def _template_changed(self, event: Select.Changed) -> None:
        event.stop()
        kind = self.query_one("#type", Select)
        if not isinstance(event.value, str) or event.value == NONE:
            self.template = None
            kind.disabled = False
            await self._build(str(kind.value))
            return
        t = self.templates[event.value]
        self.template = t
        with self.prevent(Select.Changed):
            kind.value = t.job_type
        kind.disabled = True
        await self._build(t.job_type)
        self._fill(t.params)
        self.query_one("#priority", Input).value = str(t.options.get("priority", 0))
        self.query_one("#labels", Input).value = " ".join(f"{k}={v}" for k, v in sorted((t.options.get("labels") or {}).items()))
        if self.query("#queue") and t.options.get("queue"):
            with contextlib.suppress(InvalidSelectValueError):  # a queue removed since: its default
                self.query_one("#queue", Select).value = t.options["queue"]
        self.query_one("#type-help", Static).update(Text(options_text(t)))

    async def _mount_labels_and_queue(self) -> None:
        """Add the Labels row (and the Queue row, when queues exist) below the priority."""
        try:
            queues = [q.name for q in await self.client.queues()]
        except JobtuiError:
            queues = []
        rows = [Horizontal(Label("Labels", classes="form-label"),
                           Input(placeholder="k=v k2=v2 (optional)", id="labels",
                                 compact=True), classes="form-row")]
        if queues:
            choices = [(Text("(its type's default)"), NONE)] + [(Text(clean(q)), q) for q in queues]
            rows.append(Horizontal(Label("Queue", classes="form-label"),
                                   Select(choices, value=NONE, allow_blank=False, id="queue", compact=True),
                                   classes="form-row"))
        priority_row = self.query_one("#priority", Input).parent
        assert isinstance(priority_row, Widget)
        await self.query_one("#form-body", VerticalScroll).mount_all(rows, after=priority_row)

    def labels_and_queue(self) -> tuple[Labels, str | None]:
        """Return the labels typed (checked: UsageError for a bad one) and the queue chosen (None: the type's)."""
        labels = check_labels(self.query_one("#labels", Input).value.split(), "labels")
        chosen = self.query("#queue")
        queue = chosen.first(Select).value if chosen else NONE
        return labels, queue if isinstance(queue, str) and queue != NONE else None

    def _fill(self, params: dict[str, Any]) -> None:
        for pname, field in self.fields.items():
            if pname not in params:
                continue
            if isinstance(field, Select):
                with contextlib.suppress(InvalidSelectValueError):  # a value the form does not offer: its default
                    field.value = params[pname]
            else:
                field.value = str(params[pname])

    async def action_submit(self) -> None:
        """Queue the job: of the chosen template (as `submit --template`), else of the form's type; with its labels
        and queue."""
        name, params, priority = self.values()
        try:
            labels, queue = self.labels_and_queue()
            if self.template is not None:
                job_id = await self.client.submit_template(self.template.name, params, priority=priority,
                                                           labels=labels, queue=queue)
            else:
                if name in COMMAND_KINDS:
                    name, params = build_job(name, dict(self.command_fields))
                job_id = await self.client.submit(name, params, priority=priority, labels=labels, queue=queue)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(job_id)
