"""AskScreen: a dialog that asks for one line of text (a reason, job ids); enter answers, escape cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from .format import one_line
from .ordered_input import OrderedInput


def show_error(box: Static, message: str) -> None:
    """Show what is wrong in a form's error line (one line); an empty message hides the line."""
    box.update(Text(one_line(message)))
    box.set_class(not message, "hidden")


Check = Callable[[str], str | None]
"""Return what is wrong with an answer (shown in the dialog), or None when it will do."""


class AskScreen(ModalScreen[str | None]):
    """Ask for one line; the answer is checked before the dialog closes (escape: None)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, title: str, message: str, *, placeholder: str = "", ok: str = "OK",
                 check: Check | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.placeholder = placeholder
        self.ok = ok
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.message), classes="dialog-body")
            yield OrderedInput(placeholder=self.placeholder, id="answer", compact=True)
            yield Static(id="ask-error", classes="hidden")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(f"{self.ok} (enter)", id="ok", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def error(self, message: str) -> None:
        """Show what is wrong with the answer (empty: nothing)."""
        show_error(self.query_one("#ask-error", Static), message)

    @on(Input.Submitted, "#answer")
    @on(Button.Pressed, "#ok")
    def _answer(self) -> None:
        text = self.query_one("#answer", Input).value.strip()
        problem = self.check(text) if self.check is not None else None
        if problem:
            self.error(problem)
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
