"""The runner's messages in the TUI: a logging handler that keeps them and toasts warnings and errors.

The engine and the store log through `logging.getLogger("jobtui.*")` (waiting for a locked or full
database, a lost lease, a write that could not be committed). A TUI owns the terminal, so nothing
may go to stderr: `RunnerLog` keeps the last messages for `RunnerLogScreen` (key `L`) and shows each
warning or error as a notification, as the job it concerns may look fine in the list meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

if TYPE_CHECKING:
    from .host import AppHost

KEEP = 1000
"""Messages kept."""
REPEAT_S = 10.0
"""The same message is not toasted again within this many seconds (a retry loop says it often)."""


@dataclass(frozen=True, slots=True)
class RunnerMessage:
    """One log record of the runner, as shown."""

    at: float
    """Seconds since the epoch."""
    level: str
    """'info', 'warning' or 'error'."""
    source: str
    """The logger's name, e.g. 'jobtui.store'."""
    text: str

    def line(self) -> str:
        """Return the message as one line."""
        return f"{time.strftime('%H:%M:%S', time.localtime(self.at))} {self.level:<7} {self.source}: {self.text}"


class RunnerLog(logging.Handler):
    """Keep the records of the `jobtui` loggers and pass warnings and errors to `notify`.

    Args:
        notify: called on the event loop with each warning or error (not repeated within REPEAT_S).
    """

    def __init__(self, notify: Callable[[RunnerMessage], None], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.messages: deque[RunnerMessage] = deque(maxlen=KEEP)
        self._notify = notify
        self._loop = loop
        self._last: dict[str, float] = {}
        self._logger: logging.Logger | None = None
        self._level = logging.NOTSET

    def emit(self, record: logging.LogRecord) -> None:
        """Keep one record; hand a warning or an error to the UI (from any thread)."""
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
            message = RunnerMessage(record.created, level, record.name, text)
            self.messages.append(message)
            if level == "info":
                return
            if record.created - self._last.get(text, -1e9) < REPEAT_S:
                return
            self._last[text] = record.created
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._notify, message)
        except Exception:
            self.handleError(record)

    def install(self) -> RunnerLog:
        """Attach to the `jobtui` logger (records then reach no stderr handler: the TUI owns the terminal)."""
        logger = logging.getLogger("jobtui")
        self._logger = logger
        self._level = logger.level
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def uninstall(self) -> None:
        """Detach from the `jobtui` logger."""
        if self._logger is not None:
            self._logger.removeHandler(self)
            self._logger.setLevel(self._level)
            self._logger = None


class RunnerLogScreen(ModalScreen[None]):
    """The runner's recent messages, newest last."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,L", "dismiss(None)", "Close")]

    def __init__(self, messages: list[RunnerMessage]) -> None:
        super().__init__(classes="dialog-screen")
        self.lines = [m.line() for m in messages] or ["(no messages from the runner)"]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog runner-log-dialog"):
            yield Static("Runner messages", classes="dialog-title")
            yield Log(id="runner-log", max_lines=KEEP)
            yield Static("esc, q or L closes", classes="help")

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self.lines)


def toast(app: AppHost, message: RunnerMessage) -> None:
    """Toast a warning or error of the runner (the full list: key L)."""
    if app.ui_ok():
        app.notify(f"{message.text}  (L: runner messages)", title="Runner",
                   severity="error" if message.level == "error" else "warning", markup=False, timeout=8)


def runner_failed(app: AppHost, error: str) -> None:
    """Say that the embedded runner stopped, and why."""
    if app.ui_ok():
        app.notify(f"The runner stopped: {error}", severity="error", markup=False, timeout=30)
        app.update_status()
