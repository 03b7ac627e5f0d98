"""HelpScreen (`?`): every key, as the config file's [keys] rebinds it, and what each status glyph means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

from .format import STATUS_LOOK, STATUS_ORDER
from .keymap import actions

Row = tuple[str, tuple[str, ...], str]
"""One line of the help: the default keys as shown, the binding ids they stand for, what they do."""

KEYS: list[tuple[str, list[Row]]] = [
    ("Move", [
        ("↑ ↓  j k", ("list.up", "list.down"), "previous / next job (or scroll the focused pane)"),
        ("g G  home end", ("list.top", "list.bottom"), "first / last job"),
        ("pgup pgdn", ("list.page_up", "list.page_down"), "a page up / down"),
        ("tab  shift+tab", (), "next / previous pane"),
        ("z", ("zoom",), "full screen for the focused pane (again or esc: back)"),
    ]),
    ("Act on the job (or on the marked jobs)", [
        ("p", ("pause",), "pause: a running job stops at its next safe point"),
        ("r", ("resume",), "resume from the last checkpoint"),
        ("c", ("cancel",), "cancel (asks first)"),
        ("t", ("retry",), "retry a failed job now"),
        ("R", ("rewind",), "rewind: run again from a stage you choose"),
        ("d", ("delete",), "delete with its items, logs and workspace (asks first)"),
        ("X", ("fail",), "force-fail with a reason (asks why; a running job stops at once)"),
        ("a", ("depend",), "add a dependency: the job waits for other jobs (asks which)"),
        ("space", ("list.mark",), "mark / unmark for bulk pause, resume, cancel, retry, fail, delete"),
        ("n", ("new_job",), "new job: choose a type, fill its params"),
        ("E", ("list.edit",), "edit a job not running, or submit a copy of it"),
        ("D", ("clean",), "clean: delete every finished job (completed, cancelled, failed; asks first)"),
    ]),
    ("View", [
        ("/", ("filter",), "filter: words, status:running,failed  type:demo  stage:fetch  label:k=v  queue:q  !word"
                           " (esc clears)"),
        ("s  S", ("sort", "reverse_sort"), "next sort order / reverse it"),
        ("F", ("failures",), "failures only (failed, waiting to retry, failed items)"),
        ("e", ("export",), "export the job's item results (JSON lines: a file here, a download in `jobtui web`)"),
        ("esc", ("escape",), "clear marks, then the filter"),
        ("ctrl+p", (), "command palette: every action by name"),
        ("T", ("theme",), "switch the theme (the choice is remembered)"),
        ("L", ("runner_log",), "the runner's messages (waiting for the database, lost leases, errors)"),
        ("C", ("schedules",), "schedules with their next run; p pause, r resume, a add"),
        ("H", ("fleet",), "runners on every host: name, tags, jobs, heartbeat, state"),
        ("Q", ("queues",), "queues: limits, running, waiting; p pause, P with its running jobs, r resume"),
        ("A", ("mark_all",), "mark every job the filter matches (esc unmarks); p r c t X d then act on all of them"),
        ("?", ("help",), "this help"),
        ("q", ("quit",), "quit (asks what to do with running jobs)"),
    ]),
    ("Log pane (tab to it)", [
        ("f  end G", ("follow", "log.follow"), "follow the tail again"),
        ("w", ("wrap",), "wrap long lines"),
        ("/", ("log.search",), "find in the log (enter finds)"),
        ("n  N", ("log.next", "log.previous"), "next / previous match"),
        ("o", ("log.pager",), "open the whole log in $PAGER"),
        ("h l  ← →", ("log.left", "log.right"), "scroll sideways"),
    ]),
]
"""The help's sections; every key but tab and ctrl+p is a binding id the config file's [keys] may rebind."""


def key_text(keys: str) -> str:
    """Return keys as Textual spells them ('question_mark,ctrl+slash') the way a user types them ('? ctrl+/')."""
    shown = []
    for key in keys.split(","):
        mods, plus, name = key.strip().rpartition("+")
        shown.append(f"{mods}{plus}{format_key(name)}")
    return " ".join(shown)


def keys_shown(label: str, ids: tuple[str, ...], keymap: Mapping[str, str]) -> str:
    """Return a help line's keys: its label, unless the keymap rebinds one of its ids (then every id's keys)."""
    if not any(i in keymap for i in ids):
        return label
    defaults = actions()
    return "  ".join(key_text(keymap.get(i, defaults[i][1] if i in defaults else "")) for i in ids)


class HelpScreen(ModalScreen[None]):
    """Every key (as rebound), and what each status glyph means."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss(None)", "Close")]

    def __init__(self, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})

    def text(self) -> list[tuple[str, str]]:
        """Return every help line as (keys, what)."""
        return [(keys_shown(label, ids, self.keymap), what) for _, rows in KEYS for label, ids, what in rows]

    def compose(self) -> ComposeResult:
        parts: list[RenderableType] = []
        for section, rows in KEYS:
            table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
            table.add_column(no_wrap=True, style="bold", min_width=16)
            table.add_column()
            for label, ids, what in rows:
                table.add_row(Text(keys_shown(label, ids, self.keymap)), Text(what))
            parts += [Text(section, style="bold underline"), table, Text("")]
        legend = Table(box=None, show_header=False, padding=(0, 2), expand=False)
        legend.add_column(no_wrap=True, min_width=16)
        legend.add_column()
        for status in STATUS_ORDER:
            look = STATUS_LOOK[status]
            legend.add_row(Text(f"{look.glyph} {status.value}"), Text(look.help))
        parts += [Text("Statuses", style="bold underline"), legend]
        with VerticalScroll(classes="dialog help-dialog"):
            yield Static(Text("jobtui keys"), classes="dialog-title")
            yield Static(Group(*parts))
            yield Static(Text("esc, q or ? closes"), classes="help")
