"""`jobtui` / `jobtui tui`: open the TUI (the TUI package is imported only when it opens)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..client import Client
from .commands import command
from .parse import MAX_CONCURRENCY, int_arg


def tui_options(parser: argparse._ActionsContainer, *, defaults: bool) -> None:
    """Add the TUI's options.

    On the main parser (bare `jobtui --attach`) with defaults; on `tui`/`demo` without, so that an option
    given before the command is not reset by the subcommand.
    """
    d: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument("--attach", action="store_true", help="no runner here: watch and steer a `jobtui run`", **d)
    parser.add_argument("--readonly", action="store_true", help="show jobs, steer nothing", **d)
    parser.add_argument("--concurrency", type=int_arg("--concurrency", 1, MAX_CONCURRENCY), metavar="N",
                        help="jobs the embedded runner runs at once (default 4, or the config file's)",
                        **(d or {"default": None}))
    parser.add_argument("--theme", metavar="NAME", help="light, dark (default) or any Textual theme", **(d or {"default": None}))
    parser.add_argument("--no-bell", action="store_true",
                        help="no terminal bell when a job ends or auto-pauses (also JOBTUI_BELL=0); toasts stay", **d)


async def open_tui(client: Client, a: argparse.Namespace, *, demo: bool = False) -> int:
    """Run the TUI on `client` until it quits; return its exit status."""
    from ..tui.launch import TuiOptions, run_tui  # the TUI's one entry point; Textual loads only here

    options = TuiOptions(
        attach=bool(getattr(a, "attach", False)), readonly=bool(getattr(a, "readonly", False)),
        concurrency=int(getattr(a, "concurrency", None) or 4), theme=getattr(a, "theme", None), demo=demo,
        apps=tuple(getattr(a, "app", None) or ()),
        bell=not getattr(a, "no_bell", False) and os.environ.get("JOBTUI_BELL", "1") not in ("0", "off", "no"),
        keymap=getattr(a, "keymap", None) or {}, poll_s=getattr(a, "poll_s", None),
    )
    return await run_tui(client, options)


def _tui_args(sp: argparse.ArgumentParser) -> None:
    tui_options(sp, defaults=False)


@command("tui", "open the TUI (default)", args=_tui_args, order=1, source="tui")
async def cmd_tui(client: Client, a: argparse.Namespace) -> int:
    """Open the TUI with a runner inside (or attached to a `jobtui run`)."""
    return await open_tui(client, a)
