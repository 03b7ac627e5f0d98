"""How a CLI feature module registers its subcommands, plus the small helpers every command shares.

A feature module (one per feature: `jobs.py`, `runner.py`, ...) registers each subcommand with
`@command(...)`; `main.py` imports every module of this package, so adding a command is adding a file:

    def _args(p: argparse.ArgumentParser) -> None:
        p.add_argument("id")

    @command("frob", "frob a job", args=_args, order=50)
    async def cmd_frob(client: Client, a: argparse.Namespace) -> int:
        ...
        return 0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from ..printable import printable
from .helptext import HelpFormatter, invalid_choice

if TYPE_CHECKING:
    from ..client import Client

EXIT_USAGE = 2
"""Exit status for bad input."""
EXIT_STORE = 1
"""Exit status for a database that cannot be used (and other jobtui errors)."""

Handler = Callable[["Client", argparse.Namespace], Awaitable[int]]
"""Run a command on an open client; return the exit status."""
RawHandler = Callable[[argparse.Namespace], Awaitable[int]]
"""Run a command that opens the database itself (e.g. `demo`, which chooses its file)."""
Configure = Callable[[argparse.ArgumentParser], None]
"""Add a command's own arguments to its subparser."""
Access = Literal["read", "write", "create"]
"""How an invocation opens the database: read-only, read-write (it must exist), or creating it."""


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, help line, arguments and handler."""

    name: str
    help: str
    run: Handler | None = None
    """Called with an open client (the usual case)."""
    raw: RawHandler | None = None
    """Called without a client: the command opens the database itself."""
    args: Configure | None = None
    order: int = 100
    """Where the command appears in `jobtui --help` (smaller first; ties by registration)."""
    source: str = "cli"
    """Who the requests it sends come from, as the job's history shows it."""
    creates: bool = True
    """Whether it may create the database; commands that read or steer existing jobs do not
    ("no database at PATH", exit 1, and nothing is left behind)."""
    reads: bool = False
    """Whether it only reads: the database is opened read-only (never written nor migrated)."""
    access: Callable[[argparse.Namespace], Access] | None = None
    """For a command whose actions differ (`token ls` reads, `token rm` writes, `token add` creates): how this
    invocation opens the database, instead of `creates` and `reads`."""

    def opens(self, a: argparse.Namespace) -> tuple[bool, bool]:
        """Return (may create the database, only reads it) for this invocation."""
        if self.access is None:
            return self.creates, self.reads
        how = self.access(a)
        return how == "create", how == "read"


_REGISTRY: dict[str, Command] = {}


def register(cmd: Command) -> Command:
    """Add a subcommand (a name may be registered once)."""
    if cmd.name in _REGISTRY:
        raise ValueError(f"jobtui command {cmd.name!r} registered twice")
    if (cmd.run is None) == (cmd.raw is None):
        raise ValueError(f"jobtui command {cmd.name!r} needs exactly one of run= and raw=")
    _REGISTRY[cmd.name] = cmd
    return cmd


def command(name: str, help: str, *, args: Configure | None = None, order: int = 100,
            source: str = "cli", creates: bool = True, reads: bool = False,
            access: Callable[[argparse.Namespace], Access] | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine function as the subcommand `name`."""

    def wrap(fn: Handler) -> Handler:
        register(Command(name, help, run=fn, args=args, order=order, source=source, creates=creates and not reads,
                         reads=reads, access=access))
        return fn

    return wrap


def registered() -> list[Command]:
    """Return the registered subcommands in help order."""
    index = {name: i for i, name in enumerate(_REGISTRY)}
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, index[c.name]))


def lookup(name: str) -> Command:
    """Return the subcommand called `name`."""
    return _REGISTRY[name]


def add_global_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let --db, --db-file, --app, --workspace-root and --config follow a nested action too (`jobtui schedule ls --db X`).

    Their help is said once, in `jobtui --help`; each command's help names them in one line.
    """
    p.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--db-file", default=argparse.SUPPRESS, metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--app", action="append", default=argparse.SUPPRESS, metavar="MODULE", help=argparse.SUPPRESS)
    p.add_argument("--workspace-root", default=argparse.SUPPRESS, metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help=argparse.SUPPRESS)
    return p


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2, naming what was probably meant."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            subcommand = isinstance(action, argparse._SubParsersAction)  # "unknown command …" needs no prefix
            raise argparse.ArgumentError(None if subcommand else action, invalid_choice(self, action, str(value)))

    def error(self, message: str) -> NoReturn:
        """Print one line and exit 2."""
        print(f"jobtui: error: {printable(message)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def table(rows: list[list[str]]) -> str:
    """Return rows as left-aligned columns separated by two spaces (control characters, tabs and newlines escaped)."""
    rows = [[printable(c, lines=False) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows)
