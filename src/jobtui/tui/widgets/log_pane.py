"""LogView: the selected job's log, following the tail, with wrap, as a Line API widget.

Textual's `Log` cannot wrap and `RichLog` cannot re-wrap or stop following; this view keeps the
lines (bounded) and draws only what is on screen. Scrolling up stops following and counts new
lines ("+N new"); `f`, `end` or scrolling back to the bottom follows again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...model import JobId, LogLine
from ..format import clean, wrap_words

MAX_LINES = 5_000
"""Lines kept in memory per selected job (the store keeps more; `jobtui logs` shows them all)."""
MAX_LINE_CHARS = 4_096
"""Characters of one line drawn; the rest is counted in a "… N more bytes" marker (`jobtui logs` shows it all)."""
MAX_CHARS = 1_000_000
"""Characters kept in memory per selected job: wrapping them all takes well under a second (a frame's worth)."""
_PREFIX = 15
_LEVEL = {"debug": "debug", "info": "info", "warning": "warn", "warn": "warn", "error": "error", "critical": "crit",
          "stderr": "err>", "stdout": "out"}
"""Stored level -> the 5-cell word shown; `stderr` marks a line a command wrote to its standard error."""
_LEVEL_CLASS = {"err>": "stderr", "crit": "error"}


class LogView(ScrollView, can_focus=True):
    """The log of one job."""

    ALLOW_MAXIMIZE = True

    COMPONENT_CLASSES: ClassVar[set[str]] = {"logview--time", "logview--debug", "logview--info", "logview--warn", "logview--error",
                         "logview--stderr", "logview--match", "logview--current-match"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="log.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="log.down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="log.top"),
        Binding("end,G", "follow", "Follow", show=False, id="log.follow"),
        Binding("left,h", "pan(-8)", "Left", show=False, id="log.left"),
        Binding("right,l", "pan(8)", "Right", show=False, id="log.right"),
        Binding("slash", "search", "Find", show=True, id="log.search"),
        Binding("n", "next_match(1)", "Next", show=False, id="log.next"),
        Binding("N", "next_match(-1)", "Previous", show=False, id="log.previous"),
        Binding("o", "pager", "Pager", show=True, id="log.pager"),
    ]

    DEFAULT_CSS = """
    LogView { overflow-x: hidden; }
    """

    follow: reactive[bool] = reactive(True, init=False)
    """Keep the newest line in view."""
    wrap: reactive[bool] = reactive(False, init=False)
    """Wrap long lines instead of scrolling sideways."""
    new_lines: reactive[int] = reactive(0, init=False)
    """Lines that arrived while not following."""

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.job_id: JobId | None = None
        self.last_id = 0
        """The id of the newest line shown (read the next ones after it)."""
        self._lines: list[tuple[str, str, str]] = []
        """(time, level, text) per physical line; a message with newlines takes several, time only on the first."""
        self._chars = 0
        """The characters of `_lines` (bounded by MAX_CHARS)."""
        self._rows: list[tuple[int, str, bool]] = []
        """In wrap mode: (line index, chunk, first chunk of its line)."""
        self._width = 0
        self._wrap_width = 0
        self._quiet = False
        self._frame: tuple[int, Style] | None = None
        self.search_term = ""
        """What `/` looks for (case-insensitive); matches are highlighted, n / N move between them."""
        self.matches: list[int] = []
        """The indexes of the kept lines that contain the search term."""
        self.match_index = -1
        """Which of `matches` is the current one."""

    # ------------------------------------------------------------------------------------- data
    def reset(self, job_id: JobId | None) -> None:
        """Forget the lines; show another job's log."""
        self.load(job_id, [])

    def load(self, job_id: JobId | None, lines: Iterable[LogLine]) -> None:
        """Show another job's log, starting with these lines (one layout, not two)."""
        self.job_id = job_id
        self.last_id = 0
        self.matches = []
        self.match_index = -1
        self._lines.clear()
        self._chars = 0
        self._rows.clear()
        self._width = 0
        self.set_reactive(LogView.new_lines, 0)
        self.set_reactive(LogView.follow, True)
        self._quiet = True
        try:
            self.scroll_to(0, 0, animate=False, force=True)
        finally:
            self._quiet = False
        if not self.add(lines):
            self._resize_virtual()
            self._update_title()
            self.refresh()

    def add(self, lines: Iterable[LogLine]) -> int:
        """Append log lines (newest last); return how many."""
        added = 0
        start = len(self._lines)
        for line in lines:
            if line.log_id <= self.last_id:
                continue  # already shown (two reads overlapped)
            self.last_id = line.log_id
            stamp = datetime.fromtimestamp(line.ts_ms / 1000, tz=self.tz).strftime("%H:%M:%S")
            level = _LEVEL.get(line.level.lower(), clean(line.level.lower())[:5])
            for i, raw in enumerate(line.message.split("\n")):
                part = clip(raw.rstrip("\r"), line.job_id)
                self._lines.append((stamp if i == 0 else "", level if i == 0 else "", part))
                self._chars += len(part)
                self._width = max(self._width, cell_len(part))
            added += 1
        if not added:
            return 0
        if len(self._lines) > MAX_LINES or self._chars > MAX_CHARS:
            drop = max(len(self._lines) - MAX_LINES + MAX_LINES // 10, self._over(MAX_CHARS - MAX_CHARS // 10))
            self._chars -= sum(len(text) for _, _, text in self._lines[:drop])
            del self._lines[:drop]
            self._rows.clear()
            self._wrap_width = 0
            start = 0
        if self.wrap:
            self._wrap_from(start)
        if self.search_term:
            low = self.search_term.lower()
            self.matches = [i for i, (_, _, text) in enumerate(self._lines) if low in text.lower()]
        self._resize_virtual()
        if self.follow:
            self._to_end()
        else:
            self.new_lines += added
        self._update_title()
        self.refresh()
        return added

    def _over(self, keep: int) -> int:
        """Return how many of the oldest lines to drop so that at most `keep` characters stay."""
        excess, n = self._chars - keep, 0
        while excess > 0 and n < len(self._lines) - 1:
            excess -= len(self._lines[n][2])
            n += 1
        return n

    @property
    def line_count(self) -> int:
        """Return how many physical lines are kept."""
        return len(self._lines)

    def text(self) -> str:
        """Return the kept log as plain text (for tests and copying)."""
        return "\n".join(f"{t} {lv:<5} {m}" if t else f"{'':{_PREFIX}}{m}" for t, lv, m in self._lines)

    # ------------------------------------------------------------------------------------ modes
    def action_pan(self, cells: int) -> None:
        """Scroll sideways (no wrap): the horizontal scrollbar is hidden to keep a line for the log."""
        if not self.wrap:
            limit = max(0, self.virtual_size.width - self.scrollable_content_region.width)
            self.scroll_to(x=max(0, min(limit, int(self.scroll_x) + cells)), animate=False, force=True)

    def action_follow(self) -> None:
        """Follow the tail again."""
        self.follow = True

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.set_reactive(LogView.new_lines, 0)
            self._to_end()
        self._update_title()

    def watch_new_lines(self) -> None:
        self._update_title()

    def watch_wrap(self, wrap: bool) -> None:
        self._rows.clear()
        self._wrap_width = 0
        if wrap:
            self._wrap_from(0)
        self._resize_virtual()
        if self.follow:
            self._to_end()
        self._update_title()
        self.refresh()

    def _update_title(self) -> None:
        mode = "wrap" if self.wrap else "no wrap"
        if self.search_term:
            found = f"{self.match_index + 1}/{len(self.matches)}" if self.matches else "no match"
            mode += f" · find {self.search_term!r} {found} (n/N)"
        if self.follow:
            self.border_subtitle = Text(f"following · {mode}")  # Text: a search term is never markup
        else:
            extra = f"+{self.new_lines} new · " if self.new_lines else ""
            self.border_subtitle = Text(f"{extra}paused · f follows · {mode}")

    def _to_end(self) -> None:
        self._quiet = True
        try:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        finally:
            self._quiet = False
        # The size may settle only after this refresh (a scrollbar appears): look again then.
        self.call_after_refresh(self._to_end_again)

    def _to_end_again(self) -> None:
        if self.follow and self.scroll_y < self.max_scroll_y:
            self._quiet = True
            try:
                self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
            finally:
                self._quiet = False

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._quiet:
            return
        if new >= self.max_scroll_y:
            if not self.follow:
                self.follow = True
        elif new < old and self.follow:
            self.follow = False

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap and self._content_width() != self._wrap_width:
            self._rows.clear()
            self._wrap_from(0)
        self._resize_virtual()
        if self.follow:
            self.call_after_refresh(self._to_end)

    def _content_width(self) -> int:
        return max(20, self.scrollable_content_region.width)

    def _wrap_from(self, start: int) -> None:
        width = self._content_width()
        if width != self._wrap_width:
            self._rows.clear()
            start = 0
            self._wrap_width = width
        chunk = max(8, width - _PREFIX)
        rows = self._rows
        for i in range(start, len(self._lines)):
            text = self._lines[i][2]
            pieces = wrap_words(text, chunk)
            for n, piece in enumerate(pieces):
                rows.append((i, piece, n == 0))

    def _resize_virtual(self) -> None:
        if self.wrap:
            self.virtual_size = Size(self._content_width(), len(self._rows))
        else:
            self.virtual_size = Size(self._width + _PREFIX, len(self._lines))

    # --------------------------------------------------------------------------------- drawing
    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = (self.scrollable_content_region.width, self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        width, base = self._frame or (self.scrollable_content_region.width, self.rich_style)
        index = int(self.scroll_y) + y
        if self.wrap:
            if not 0 <= index < len(self._rows):
                return Strip.blank(width, base)
            li, piece, first = self._rows[index]
            stamp, level, _ = self._lines[li]
            if not first:
                stamp, level = "", ""
            return Strip(self._segments(stamp, level, piece, base, li), _PREFIX + cell_len(piece)).crop_extend(
                0, width, base)
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        stamp, level, text = self._lines[index]
        x = int(self.scroll_x)
        strip = Strip(self._segments(stamp, level, text, base, index), _PREFIX + cell_len(text))
        return strip.crop_extend(x, x + width, base)

    def _segments(self, stamp: str, level: str, text: str, base: Style, line: int = -1) -> list[Segment]:
        style = self.get_component_rich_style
        kind = _LEVEL_CLASS.get(level, level)
        level_style = style(f"logview--{kind}", partial=True, default=Style()) if level else Style()
        body = base + level_style if kind in ("warn", "error", "stderr") else base
        segs = [
            Segment(f"{stamp:<8} ", base + style("logview--time", partial=True)),
            Segment(f"{level:<5} ", base + level_style),
        ]
        term = self.search_term
        if not term or term.lower() not in text.lower():
            segs.append(Segment(text, body))
            return segs
        current = 0 <= self.match_index < len(self.matches) and self.matches[self.match_index] == line
        hit = body + style("logview--current-match" if current else "logview--match", partial=True)
        lower, low_term, start = text.lower(), term.lower(), 0
        while (at := lower.find(low_term, start)) >= 0:
            if at > start:
                segs.append(Segment(text[start:at], body))
            segs.append(Segment(text[at:at + len(term)], hit))
            start = at + len(term)
        if start < len(text):
            segs.append(Segment(text[start:], body))
        return segs

    # ----------------------------------------------------------------------------------- search
    def action_search(self) -> None:
        """Ask what to find in the log."""
        from ..screens import SearchScreen

        def found(term: str | None) -> None:
            if term is not None:
                self.search(term)

        self.app.push_screen(SearchScreen(self.search_term), found)

    def search(self, term: str) -> int:
        """Highlight every line containing `term` and go to the first at or after the view; return the count."""
        self.search_term = term
        low = term.lower()
        self.matches = [i for i, (_, _, text) in enumerate(self._lines) if low and low in text.lower()] if term else []
        self.match_index = -1
        if self.matches:
            top = int(self.scroll_y)
            after = [n for n, i in enumerate(self.matches) if self._row_of(i) >= top]
            self._go_to_match(after[0] if after else 0)
        self._update_title()
        self.refresh()
        return len(self.matches)

    def action_next_match(self, step: int) -> None:
        """Go to the next (or, with -1, the previous) match, wrapping around."""
        if not self.matches:
            if self.search_term:
                self.app.notify(f"No line has {self.search_term!r}", severity="warning", timeout=3, markup=False)
            return
        self._go_to_match((self.match_index + step) % len(self.matches))

    def _row_of(self, line: int) -> int:
        if not self.wrap:
            return line
        for row, (li, _, _) in enumerate(self._rows):
            if li == line:
                return row
        return 0

    def _go_to_match(self, n: int) -> None:
        self.match_index = n
        self.follow = False
        row = self._row_of(self.matches[n])
        height = max(1, self.scrollable_content_region.height)
        self._quiet = True
        try:
            self.scroll_to(y=max(0, row - height // 3), animate=False, force=True)
        finally:
            self._quiet = False
        self._update_title()
        self.refresh()

    # ------------------------------------------------------------------------------------ pager
    def action_pager(self) -> None:
        """Show the kept log in $PAGER (default `less -R`), the app suspended meanwhile."""
        import os
        import subprocess
        import tempfile

        from textual.app import SuspendNotSupported

        if self.job_id is None:
            return
        with tempfile.NamedTemporaryFile("w", prefix=f"jobtui-{self.job_id}-", suffix=".log", delete=False,
                                         encoding="utf-8") as f:
            f.write(self.text() + "\n")
            path = f.name
        command = pager_command(os.environ.get("PAGER", ""), path)
        try:
            with self.app.suspend():
                subprocess.call(command)
        except SuspendNotSupported:
            self.app.notify(f"This terminal cannot hand over to a pager; the log is in {path}", markup=False)
            return
        except OSError as e:
            self.app.notify(f"Cannot run {command[0]}: {e}; the log is in {path}", severity="error", markup=False)
            return
        os.unlink(path)


def clip(text: str, job_id: JobId) -> str:
    """Return one line of a log fit to draw: cleaned, and cut at MAX_LINE_CHARS with a marker saying what is left."""
    if len(text) <= MAX_LINE_CHARS:
        return clean(text)
    rest = len(text[MAX_LINE_CHARS:].encode("utf-8", "replace"))
    return f"{clean(text[:MAX_LINE_CHARS])} … {rest:,} more bytes (jobtui logs {job_id} shows the whole line)"


def pager_command(pager: str, path: str) -> list[str]:
    """Return the command that pages `path`: $PAGER split like a shell would, else `less -R`."""
    import shlex

    return [*(shlex.split(pager) if pager.strip() else ["less", "-R"]), path]
