"""The TUI's terminal driver: a terminal that is gone (hung up) ends the TUI cleanly, never blocks it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class TerminalOutput:
    """What Textual's writer thread writes to: after the first failed write, later writes are dropped.

    Textual writes the screen from a thread fed by a queue of 30 writes. A write to a terminal that hung
    up fails (EIO); that ended the thread, the queue filled, and the 31st write blocked the event loop for
    good, with the jobs never handed back. Here a failure is reported once (`on_gone`) and the thread lives on.
    """

    def __init__(self, file: IO[str], on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False
        """A write failed: the terminal is gone; nothing more is written."""

    def _failed(self) -> None:
        if not self.gone:
            self.gone = True
            self._on_gone()

    def write(self, text: str) -> int:
        """Write to the terminal, or drop the text once it is gone."""
        if not self.gone:
            try:
                return self._file.write(text)
            except (OSError, ValueError):
                self._failed()
        return len(text)

    def flush(self) -> None:
        """Flush to the terminal (nothing once it is gone)."""
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._failed()

    def fileno(self) -> int:
        """Return the terminal's file descriptor."""
        return self._file.fileno()

    def isatty(self) -> bool:
        """Tell whether the output is a live terminal."""
        return not self.gone and self._file.isatty()


class Terminal:
    """The TUI's terminal: the driver class to give Textual, and leaving the terminal once it is gone."""

    def __init__(self, on_gone: Callable[[], None]) -> None:
        self.on_gone = on_gone
        """Told (from any thread) when a write to the terminal failed: it is gone."""
        self.driver: LinuxDriver | None = None
        """The driver Textual made from `driver_class()`, once it has."""

    def leave(self) -> None:
        """Stop reading the terminal: once it hung up, every read returns at once and the input thread would spin."""
        if self.driver is not None:
            self.driver.exit_event.set()

    def driver_class(self) -> type[LinuxDriver]:
        """Return Textual's Linux driver made safe for a terminal that goes away."""
        terminal = self

        class TerminalDriver(LinuxDriver):
            """LinuxDriver whose writes cannot fail or block, and which resumes only what it suspended."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._suspended = False
                terminal.driver = self
                if self._file is not None:
                    # LinuxDriver hands `_file` (sys.__stderr__) to its writer thread when it starts
                    # (Textual 8), and only writes, flushes and asks its fileno.
                    self._file = TerminalOutput(self._file, terminal.on_gone)  # type: ignore[assignment]

            def suspend_application_mode(self) -> None:
                self._suspended = True
                super().suspend_application_mode()

            def resume_application_mode(self) -> None:
                # The kernel sends SIGCONT with SIGHUP when the terminal hangs up, and LinuxDriver resumes on
                # any SIGCONT: that started a second writer thread on the dead terminal (isatty() is False
                # there, so its own check is skipped), whose queue then blocked the loop. Resume only what
                # was suspended (ctrl+z), and only on a terminal that still answers.
                if not self._suspended or not os.isatty(self.fileno):
                    return
                self._suspended = False
                super().resume_application_mode()

        return TerminalDriver
