"""Keep a database password out of the command line, which every user of the host can read.

`/proc/PID/cmdline` is world-readable; `/proc/PID/environ` only by the process's owner (and root).
So a `--db` URL that carries a credential is moved into `$JOBTUI_DB` and the process replaces itself
(`execve`) with the same command line minus that option: a long-running `jobtui run` or `tui --attach`
shows no password for longer than its start (a few hundred ms before the exec, which no user-space
program can avoid: the kernel shows the command line it was started with). `--db-file PATH` reads
the URL from a file instead, so it never appears in the command line at all.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..redaction import has_secret

log = logging.getLogger("jobtui.cli")

MAX_DB_FILE = 64 * 1024
"""A database file names one URL or path: anything longer is not one."""


def read_db_file(path: str) -> str:
    """Return the database URL or path in the first non-empty line of `path`.

    Raises:
        UsageError: the file cannot be read, is too long, or holds no line.
    """
    try:
        with Path(path).expanduser().open("rb") as f:
            data = f.read(MAX_DB_FILE + 1)
    except OSError as e:
        raise UsageError(f"--db-file {path}: {e.strerror or e}") from None
    if len(data) > MAX_DB_FILE:
        raise UsageError(f"--db-file {path}: longer than {MAX_DB_FILE // 1024} KiB; it should hold one URL")
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()
    raise UsageError(f"--db-file {path}: empty (it should hold one database URL or path)")


def without_db(args: Sequence[str], value: str) -> list[str] | None:
    """Return the program's arguments without the `--db VALUE` / `--db=VALUE` option; None if not there.

    Only options before a `--` are touched: after it, words belong to a command.
    """
    out: list[str] = []
    found = False
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            out.extend(args[i:])
            break
        if word == "--db" and i + 1 < len(args) and args[i + 1] == value:
            found, i = True, i + 2
            continue
        if word == f"--db={value}":
            found, i = True, i + 1
            continue
        out.append(word)
        i += 1
    return out if found else None


def hide_db_secret(db: str | None) -> None:
    """Re-execute this process without a credential-bearing `--db` in its command line (see the module).

    Returns only when there is nothing to hide, or the exec failed (then the command goes on as given).
    """
    if db is None or not has_secret(db):
        return
    args = without_db(sys.argv[1:], db)
    if args is None:
        return
    head = list(sys.orig_argv[: len(sys.orig_argv) - (len(sys.argv) - 1)])  # interpreter, its options, script
    env = dict(os.environ, JOBTUI_DB=db)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *head[1:], *args], env)
    except OSError as e:  # pragma: no cover - the interpreter that runs us can run again
        log.warning("cannot re-run without the database URL in the command line: %s", e)
