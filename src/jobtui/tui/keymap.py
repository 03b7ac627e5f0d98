"""The TUI's keymap: the config file's [keys] rebinds any action by its binding id; a clash is refused in one line.

Ids are the app's action names (`pause`, `cancel`, `filter`, ...) and, for the panes, `list.*`, `log.*` and
`detail.*` (`jobtui config keys` lists them with their keys). Textual applies the keymap (`App.set_keymap`);
this module checks it first, where a clash is found before the screen opens: within one pane, and between the
job list and the app (the list has the focus most of the time, so a list key would hide an app key).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from textual.app import App
from textual.binding import Binding, BindingType

from ..errors import UsageError
from .keys import BINDINGS
from .widgets.job_detail import JobDetailPane
from .widgets.job_list import JobTable
from .widgets.log_pane import LogView

SCOPES: dict[str, list[BindingType]] = {
    "app": BINDINGS, "list": JobTable.BINDINGS, "log": LogView.BINDINGS, "detail": JobDetailPane.BINDINGS,
}
"""Where each rebindable binding lives."""
TOGETHER = (("app", "list"), ("log",), ("detail",))
"""Scopes whose keys are live at the same time: a key bound twice within one group is a clash."""


def actions() -> dict[str, tuple[str, str, str]]:
    """Return every rebindable action: id -> (scope, default keys, description)."""
    out: dict[str, tuple[str, str, str]] = {}
    for scope, bindings in SCOPES.items():
        for b in bindings:
            if isinstance(b, Binding) and b.id:
                out[b.id] = (scope, b.key, b.description)
    return out


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """Return the keymap in Textual's key names ('?' -> 'question_mark').

    Raises:
        UsageError: an action that does not exist, or a key bound to two actions that are live together.
    """
    known = actions()
    for action in keymap:
        if action not in known:
            close = difflib.get_close_matches(action, list(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "`jobtui config keys` lists them"
            raise UsageError(f"keys: no TUI action {action!r} ({hint})")
    normal = App._normalize_keymap(dict(keymap))  # Textual's own spelling of keys
    for group in TOGETHER:
        holder: dict[str, str] = {}
        for action, (scope, default, _) in known.items():
            if scope not in group:
                continue
            for key in normal.get(action, default).split(","):
                key = key.strip()
                if key in holder and holder[key] != action:
                    raise UsageError(f"keys: {key!r} is bound to both {holder[key]} and {action}"
                                     " (rebind one of them in [keys])")
                holder[key] = action
    return dict(normal)


__all__ = ["SCOPES", "actions", "check_keymap"]
