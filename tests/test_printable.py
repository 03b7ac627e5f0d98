"""Issue 14, item 7: terminal escapes a job wrote never reach the terminal raw (real commands, a real runner).

`jobtui logs 1` of a command that printed `ESC ] 52 ; c ; ... BEL` set the clipboard; `show` printed raw ESC
in the command line and the stage error, `export --format csv` in item keys. Every human-readable output
shows control characters as visible escapes (`\\x1b`); JSON, JSON lines and `logs --raw` stay exact.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from jobtui.cli.commands import table
from jobtui.printable import printable
from tests.conftest import jobtui

pytestmark = pytest.mark.slow

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
"""Sets the clipboard to `rm -rf ~` (in tmux with set-clipboard, xterm, kitty...)."""
TITLE = "\x1b]0;pwned\x07"
"""Sets the window title."""
C1 = "\x9b31m"
"""CSI as one C1 character (8-bit terminals)."""
RAW = ("\x1b", "\x07", "\x9b")


def _clean(text: str) -> None:
    for c in RAW:
        assert c not in text, repr(text[:500])


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Job 1: a command that prints OSC 52 and fails with an escape in its error; job 2: a foreach with hostile keys."""
    path = tmp_path_factory.mktemp("esc") / "e.db"
    script = f"printf '{OSC52}one\\ttwo\\n'; printf 'bad {TITLE}{C1}red\\n' >&2; exit 3"
    assert jobtui("add", "--retries", "0", "--", "sh", "-c", script, db=path).returncode == 0
    r = jobtui("foreach", "--args", f"k{TITLE}", "plain", "--retries", "0", "--", "sh", "-c", 'echo "$1"', "sh", "{}",
               db=path)
    assert r.returncode == 0, r.stderr
    run = jobtui("run", "--exit-when-idle", db=path)
    assert run.returncode == 0, run.stderr
    return path


def test_logs_show_escapes_and_raw_keeps_them(db: Path) -> None:
    r = jobtui("logs", "1", db=db)
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07one\ttwo" in r.stdout, "escaped, with the tab kept"
    assert "bad \\x1b]0;pwned\\x07\\x9b31mred" in r.stdout
    raw = jobtui("logs", "1", "--raw", db=db)
    assert f"{OSC52}one\ttwo" in raw.stdout and f"bad {TITLE}{C1}red" in raw.stdout
    every = jobtui("logs", "--all", db=db)
    _clean(every.stdout)
    assert "[1] " in every.stdout and "\\x1b]52" in every.stdout


def test_show_command_line_error_and_traceback(db: Path) -> None:
    r = jobtui("show", "1", db=db)
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    command = next(line for line in r.stdout.splitlines() if line.startswith("  command"))
    assert "\\x1b]52" in command
    error = next(line for line in r.stdout.splitlines() if line.startswith("  error"))
    assert "bad \\x1b]0;pwned\\x07\\x9b31mred" in error
    data = json.loads(jobtui("show", "1", "--json", db=db).stdout)
    assert OSC52 in data["params"]["stages"][0]["run"][2], "JSON stays exact"


def test_export_csv_escapes_keys_jsonl_stays_exact(db: Path, tmp_path: Path) -> None:
    r = jobtui("export", "2", "--format", "csv", db=db)
    assert r.returncode == 0, r.stderr
    _clean(r.stdout)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert sorted(row[0] for row in rows[1:]) == ["k\\x1b]0;pwned\\x07", "plain"]
    out = tmp_path / "items.csv"
    assert jobtui("export", "2", "--format", "csv", "-o", str(out), db=db).returncode == 0
    _clean(out.read_text())
    assert out.read_text() == r.stdout, "a file gets what the terminal gets"
    lines = jobtui("export", "2", db=db).stdout.splitlines()
    assert {json.loads(line)["key"] for line in lines} == {f"k{TITLE}", "plain"}


def test_error_lines_show_escapes(db: Path) -> None:
    r = jobtui("ls", TITLE, db=db)
    assert r.returncode == 2
    _clean(r.stderr)
    assert "\\x1b]0;pwned\\x07" in r.stderr


def test_printable_and_table_cells() -> None:
    assert printable(f"a{OSC52}\tb\nc\r\n") == "a\\x1b]52;c;cm0gLXJmIH4=\\x07\tb\nc\r\n"
    assert printable("50%\rdone") == "50%\\x0ddone", "a lone CR would overwrite the line"
    assert printable("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert printable("a\tb\nc", lines=False) == "a\\x09b\\x0ac"
    assert table([["NAME", "X"], [f"n{TITLE}\nnext", "1"]]).splitlines() == [
        "NAME                       X", "n\\x1b]0;pwned\\x07\\x0anext  1"]
