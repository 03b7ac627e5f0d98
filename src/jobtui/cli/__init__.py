"""The command line: `jobtui` opens the TUI; `jobtui run` is the headless runner; the rest script the jobs.

Bad input gets one line on stderr and exit status 2; a database that cannot be used gets exit 1.

Layout: `main.py` builds the parser and dispatches; `commands.py` is the registry (`@command`) a feature
module uses to add subcommands; `parse.py` parses durations, times, ids and params; `examples.py` holds every
command's `--help` examples (a new command adds its entry there) and `helptext.py` finishes the help text
and says `did you mean …?`; each other module is one feature (`jobs.py`, `runner.py`, `demo.py`, `tui.py`,
`info.py`, ...), loaded automatically.
"""

from __future__ import annotations

from .commands import EXIT_STORE, EXIT_USAGE, Command, command, register
from .demo import demo_db_path
from .main import build_parser, main
from .parse import parse_duration_ms, parse_id, parse_kv, parse_statuses, parse_time_ms

__all__ = [
    "EXIT_STORE",
    "EXIT_USAGE",
    "Command",
    "build_parser",
    "command",
    "demo_db_path",
    "main",
    "parse_duration_ms",
    "parse_id",
    "parse_kv",
    "parse_statuses",
    "parse_time_ms",
    "register",
]
