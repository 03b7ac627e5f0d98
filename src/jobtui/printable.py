"""Text from jobs made safe for a terminal: control characters become visible escapes such as `\\x1b`.

What a command prints, an item's key, a stage's error or a runner's name may carry terminal escapes
(`ESC ] 52 ;` sets the clipboard, `ESC ] 0 ;` the window title). Every human-readable output goes through
`printable` (the CLI wraps its stdout and stderr in `PrintableStream`); JSON and `--raw` stay exact.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Marks that reorder text on screen (a file name can be made to read backwards)."""
_IN_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]|\r(?!\n)")
"""Everything but tab, newline and a CR that ends a line (CR LF)."""
_IN_A_CELL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
"""Everything, tab and newline too: one value on one line (a table cell, a CSV field)."""


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = True) -> str:
    """Return `text` with control characters as visible escapes (`\\x1b`, `\\u202e`).

    With `lines`, tabs and line breaks are kept (a log, a traceback); without, they are escaped too
    (a table cell, one field).
    """
    return (_IN_LINES if lines else _IN_A_CELL).sub(_escape, text)


class PrintableStream:
    """A text stream that writes `printable(text)` to another; everything else is the other's."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        """Write `text` with its control characters escaped; return len(text), as a stream does."""
        self.inner.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Write each line (escaped)."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def printable_output() -> Iterator[None]:
    """Escape control characters in everything written to stdout and stderr meanwhile."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = PrintableStream(out)
    sys.stderr = PrintableStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


__all__ = ["PrintableStream", "printable", "printable_output"]
