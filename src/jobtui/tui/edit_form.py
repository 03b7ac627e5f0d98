"""`E`: the new-job form filled with the selected job: save the edit in place, or submit it as a copy (issue 21 item 3).

Saving goes through `Client.edit` (one guarded transaction, recorded in the job's history): a running or
completed job, or a params change the rule refuses (jobtui/editing.py), shows its one-line reason in the
form and changes nothing. "Submit as copy" queues a new job of the same type with the form's params.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Select, Static
from textual.widgets.select import InvalidSelectValueError

from ..client import Client
from ..errors import JobtuiError
from ..model import Job, JobId
from .command_form import COMMAND_KINDS
from .screens import NewJobScreen

__all__ = ["COMMAND_KINDS", "EditJobScreen"]


class EditJobScreen(NewJobScreen):
    """The new-job form on one job's type, params and priority: ctrl+s saves the edit, ctrl+y submits a copy."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "submit", "Save"),
        Binding("ctrl+y", "copy", "Submit as copy"),
    ]

    def __init__(self, client: Client, job: Job) -> None:
        super().__init__(client)
        self.job = job
        self.types = {job.type: client.job_type(job.type)}
        self.copied: JobId | None = None
        """The id of the copy submitted (None: the edit was saved in place)."""

    async def on_mount(self) -> None:
        await super().on_mount()
        self.query_one(".dialog-title", Static).update(Text(f"Edit job {self.job.job_id} ({self.job.type})"))
        self.query_one("#type", Select).disabled = True
        self.query_one("#priority", Input).value = str(self.job.priority)
        self.query_one("#submit", Button).label = "Save (ctrl+s)"
        await self.query_one(".dialog-buttons").mount(
            Button("Submit as copy (ctrl+y)", id="copy", compact=True), before="#submit")
        self.query_one("#priority", Input).focus()

    async def _build(self, name: str) -> None:
        """Build the type's fields (again when the type's Select says so), then fill them with the job's params."""
        await super()._build(name)
        for pname, field in self.fields.items():
            value = self.job.params.get(pname)
            if isinstance(field, Select):
                with contextlib.suppress(InvalidSelectValueError):  # a value the form does not offer: its default
                    field.value = value
            else:
                field.value = "" if value is None else str(value)

    def _changes(self) -> tuple[dict[str, Any], int, dict[str, Any]]:
        """Return the params that differ from the job's, the priority, and every param of the form."""
        _name, params, priority = self.values()
        changed = {k: v for k, v in params.items() if str(self.job.params.get(k)) != str(v)}
        return changed, priority, params

    async def action_submit(self) -> None:
        """Save the edit in place (a refusal shows in the form; nothing changes)."""
        changed, priority, _all = self._changes()
        try:
            await self.client.edit(self.job.job_id, params=changed or None,
                                   priority=None if priority == self.job.priority else priority)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(self.job.job_id)

    async def action_copy(self) -> None:
        """Queue a new job of the same type with the form's params and priority."""
        _changed, priority, params = self._changes()
        try:
            self.copied = await self.client.submit(self.job.type, {**self.job.params, **params}, priority=priority)
        except JobtuiError as e:
            self._error(str(e))
            return
        self.dismiss(self.copied)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Route the copy button (the others are the new-job form's)."""
        if event.button.id == "copy":
            event.stop()
            self.run_worker(self.action_copy(), exclusive=True)
