"""Print completion candidates from a jobtui database, fast: job ids, schedule, queue and runner names.

The completion scripts (`jobtui completion SHELL`, cli/completion.py) run this file by its path with
`python -I -S`, so a TAB costs a bare interpreter and one read-only SQLite query, not jobtui's imports (it is a
program of its own, never imported; it lives in store/ because only store/ holds SQL). Stdlib only; it never writes,
never creates a file, and prints nothing for a PostgreSQL URL or a file that is not a jobtui database.

    python -I -S completion_values.py KIND DB DEFAULT_DB FORMAT
    KIND: ids | schedules | queues | runners;  DB: the --db on the command line ('' for none);  FORMAT: plain | tab | zsh
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

QUERIES = {
    "ids": "SELECT job_id, status || '  ' || type FROM jobs ORDER BY job_id DESC LIMIT 500",
    "schedules": "SELECT name, CASE WHEN paused <> 0 THEN 'paused' ELSE '' END FROM schedules ORDER BY name",
    "queues": "SELECT name, '' FROM queues ORDER BY name",
    "runners": "SELECT coalesce(name, runner_id), hostname FROM runners ORDER BY 1",
}
"""What each kind lists: (value, description)."""


def database(given: str, default: str) -> Path | None:
    """Return the SQLite file the command line names (--db, else $JOBTUI_DB, else the default), if it exists."""
    path = given or os.environ.get("JOBTUI_DB") or default
    if not path or "://" in path:
        return None  # a PostgreSQL URL: no query on every TAB
    p = Path(path).expanduser()
    return p if p.is_file() else None


def candidates(kind: str, db: Path) -> list[tuple[str, str]]:
    """Return (value, description) rows of `kind` from `db`, read-only ([] when it cannot be read)."""
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
        try:
            return [(str(v), str(d or "")) for v, d in con.execute(QUERIES[kind])]
        finally:
            con.close()
    except sqlite3.Error:
        return []


def line(value: str, description: str, fmt: str) -> str:
    """Format one candidate for the shell: bash takes the value, fish `value<TAB>description`, zsh `value:description`."""
    if fmt == "tab" and description:
        return f"{value}\t{description}"
    if fmt == "zsh":
        escaped = value.replace("\\", "\\\\").replace(":", "\\:")
        return f"{escaped}:{description}" if description else escaped
    return value


def main(argv: list[str]) -> int:
    """Print the candidates, one a line."""
    if len(argv) != 5 or argv[1] not in QUERIES:
        return 2
    kind, given, default, fmt = argv[1:]
    db = database(given, default)
    if db is not None:
        sys.stdout.write("".join(line(v, d, fmt) + "\n" for v, d in candidates(kind, db)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
