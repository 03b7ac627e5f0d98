"""Build the parser from the registered subcommands, dispatch, and turn errors into one line and an exit status."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import importlib
import os
import pkgutil
import sys
import threading
from collections.abc import Sequence

from ..client import Client
from ..errors import JobtuiError, StoreError, UsageError
from ..printable import printable, printable_output
from .commands import EXIT_STORE, EXIT_USAGE, Parser, lookup, registered
from .configure import apply_config
from .helptext import decorate, deepest, unrecognized
from .secret_argv import hide_db_secret, read_db_file
from .tui import tui_options

WORKSPACE_ROOT_HELP = ("folder of the jobs' workspaces, e.g. one every host mounts (default: $JOBTUI_WORKSPACES,"
                       " else DB.workspaces beside the database file)")

DB_HELP = "database file or postgresql:// URL (default: $JOBTUI_DB, else jobtui.db in the user-data folder)"

CONFIG_HELP = ("the config file (default: $JOBTUI_CONFIG, else $XDG_CONFIG_HOME/jobtui/config.toml); its values come"
               " after flags and environment variables: `jobtui config show`")

APP_HELP = "import job types from MODULE (repeatable; also $JOBTUI_APP)"

DB_FILE_HELP = ("read the database URL (or path) from the first line of PATH, so that no password shows in the"
                " command line (a --db URL with a password is moved out of it: the process re-runs itself)")

COMMAND_MODULES = {
    "add": "command_jobs", "cancel": "jobs", "clean": "jobs", "completion": "completion", "config": "configure",
    "delete": "jobs", "demo": "demo", "depend": "deps", "edit": "edit", "export": "export", "fail": "jobs",
    "foreach": "command_jobs", "logs": "logs", "ls": "ls", "pause": "jobs", "queue": "queue", "resume": "jobs",
    "retry": "jobs", "rewind": "jobs", "run": "runner", "runners": "runners", "schedule": "schedule", "serve": "serve",
    "service": "service", "show": "show", "stats": "info", "submit": "jobs", "template": "template", "token": "serve",
    "tui": "tui", "types": "info", "vacuum": "vacuum", "wait": "jobs", "web": "web",
}
"""The module of this package that registers each subcommand: a command line that names one imports that module and
builds its parser alone, not every command's (issue 18: start-up). A command missing here still works, parsed with
every command loaded (tests/cli/test_help.py checks the list)."""
_VALUED = frozenset({"--db", "--db-file", "--app", "--workspace-root", "--config"})

_NOT_FEATURES = frozenset({"__init__", "__main__", "main", "commands", "parse", "secret_argv", "helptext", "examples"})
_OWN_TERMINAL = frozenset({"tui", "demo"})
"""Commands that draw on the terminal themselves (their output is not escaped)."""


def load_commands() -> None:
    """Import every module of this package, so each registers its subcommands (once)."""
    package = importlib.import_module(__package__ or "jobtui.cli")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_FEATURES and not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")


def named_command(argv: Sequence[str]) -> str | None:
    """Return the subcommand a command line names, when only global options come before it (else None: the whole
    parser decides)."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUED:
            next(args, None)
        elif not (arg.startswith("--") and arg.partition("=")[0] in _VALUED):
            return None if arg.startswith("-") else arg
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the parser of `jobtui` and every registered subcommand, or only of the subcommand `only` names (one of
    COMMAND_MODULES)."""
    if only in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{COMMAND_MODULES[only]}")
    else:
        load_commands()
    common = Parser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH", help=DB_HELP)
    common.add_argument("--db-file", default=argparse.SUPPRESS, metavar="PATH", help=DB_FILE_HELP)
    common.add_argument("--app", action="append", default=argparse.SUPPRESS, metavar="MODULE", help=APP_HELP)
    common.add_argument("--workspace-root", default=argparse.SUPPRESS, metavar="PATH", help=WORKSPACE_ROOT_HELP)
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help=CONFIG_HELP)
    p = Parser(prog="jobtui", description="Durable, steerable background jobs, with a TUI.",
               epilog="With no command, opens the TUI with a runner in the same process. "
                      "Each command's own help (jobtui COMMAND --help) ends with examples.")
    g = p.add_argument_group("global options (before or after the command)")
    g.add_argument("--db", default=None, metavar="PATH", help=DB_HELP)
    g.add_argument("--db-file", default=None, metavar="PATH", help=DB_FILE_HELP)
    g.add_argument("--app", action="append", default=None, metavar="MODULE", help=APP_HELP)
    g.add_argument("--workspace-root", default=None, metavar="PATH", help=WORKSPACE_ROOT_HELP)
    g.add_argument("--config", default=None, metavar="PATH", help=CONFIG_HELP)
    p.add_argument("--version", action="version", version="jobtui 0.1.0")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    tui_options(p.add_argument_group("TUI options (jobtui with no command)"), defaults=True)
    for cmd in registered() if only not in COMMAND_MODULES else [lookup(only)]:
        sp = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[common])
        if cmd.args is not None:
            cmd.args(sp)
    decorate(p)
    return p


def _exact(a: argparse.Namespace) -> bool:
    """Tell whether a command's output is for programs, kept exact: JSON, JSON lines, `--raw`, or a terminal UI."""
    return (a.command or "tui") in _OWN_TERMINAL or bool(getattr(a, "json", False) or getattr(a, "raw", False)) or (
        a.command == "export" and a.format == "jsonl")


async def _main(a: argparse.Namespace) -> int:
    cmd = lookup(a.command or "tui")
    # What people read shows control characters as visible escapes: a job's output cannot set the clipboard.
    with contextlib.nullcontext() if _exact(a) else printable_output():
        if cmd.raw is not None:
            return await cmd.raw(a)
        assert cmd.run is not None
        # `tui --readonly` only reads, as bare `jobtui --readonly` does: opened read-only (`mode=ro`), so that
        # watching never writes nor migrates. (`demo --readonly` seeds its demo database first: it writes.)
        readonly = bool(getattr(a, "readonly", False))
        creates, reads = cmd.opens(a)
        creates = creates and not readonly
        client = await Client.open(a.db, apps=a.app or (), source=cmd.source, create=creates,
                                   readonly=reads or (readonly and cmd.name == "tui"),
                                   workspace_root=getattr(a, "workspace_root", None))
        try:
            return await cmd.run(client, a)
        finally:
            await client.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exit with its status."""
    parser = build_parser(named_command(sys.argv[1:] if argv is None else argv))
    a, extra = parser.parse_known_args(argv)
    if extra:
        # Say it as the subcommand's own parser would, so the hint is `jobtui add --help` (issue 15, item 7),
        # with the option probably meant (issue 19, item 2).
        sub = deepest(parser, a)
        sub.error(unrecognized(build_parser(), sub, extra))  # every command: which ones have that option
    if a.db is not None and getattr(a, "db_file", None):
        parser.error("give --db or --db-file, not both")
    if argv is None:
        hide_db_secret(a.db)  # returns only when there is nothing to hide
    try:
        if getattr(a, "db_file", None):
            a.db = read_db_file(a.db_file)
        apply_config(a)
        code = asyncio.run(_main(a))
    except UsageError as e:
        print(f"jobtui: error: {printable(str(e))}", file=sys.stderr)
        code = EXIT_USAGE
    except (StoreError, JobtuiError) as e:
        print(f"jobtui: error: {printable(str(e))}", file=sys.stderr)
        code = EXIT_STORE
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # `jobtui ls | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    if argv is None:
        exit_now(code)
    raise SystemExit(code)


def exit_now(code: int) -> None:
    """Exit a finished command-line process without tearing the interpreter down, where nothing else runs: its exit
    handlers run (logging's, weakref finalizers, coverage's) and its output is flushed, but hundreds of modules are not
    freed one by one (~30-100 ms of each `jobtui foreach` and `jobtui run`, issue 18). With another thread alive,
    return (the caller exits as usual: that thread is waited for), and so under a profiler or a tracer (`python -m
    cProfile -m jobtui ...` writes its profile after this returns)."""
    if threading.active_count() > 1 or sys.getprofile() is not None or sys.gettrace() is not None:
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
