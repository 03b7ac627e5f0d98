"""`n` with templates: the new-job form offers the saved templates (issue 21 item 4).

Choosing one sets the form's type, fills its params and priority from the template and says which options
come with it (labels, queue, retries, ...); every field stays editable. Submitting queues the job as
`jobtui submit --template NAME -p ...` does (`Client.submit_template`): the template's type, params and
options, the form's params and priority over them. `(none)` gives the plain form back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rich.text import Text
from textual import events, on
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from ..client import Client
from ..errors import JobtuiError
from ..labels import labels_text
from ..templates import Template
from .format import clean
from .screens import NewJobScreen

NONE = ""
"""The template choice that means none (the plain form)."""


def options_text(t: Template) -> str:
    """Return a template's options in one line, as the form shows them (secrets are never among them)."""
    o = t.options
    parts = [f"labels {labels_text(tuple(sorted(o['labels'].items())))}" if o.get("labels") else "",
             f"queue {o['queue']}" if o.get("queue") else "",
             f"max retries {o['max_retries']}" if o.get("max_retries") is not None else "",
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
        self.query_one("#type-help", Static).update(Text(options_text(t)))

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
        """Queue the job: of the chosen template (as `submit --template`), else as the plain form does."""
        if self.template is None:
            await super().action_submit()
            return
        _name, params, priority = self.values()
        try:
            job_id = await self.client.submit_template(self.template.name, params, priority=priority)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(job_id)
