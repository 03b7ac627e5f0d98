"""Issue 19, item 2: `--help` that teaches (examples, global options once, ID/N/DURATION, defaults, did you mean)."""

from __future__ import annotations

import argparse
import re
import shlex
import time
from pathlib import Path

import pytest

from jobtui.cli import build_parser
from jobtui.cli.examples import EXAMPLES
from jobtui.cli.helptext import GLOBAL_OPTIONS, walk
from tests.conftest import cli_submit, jobtui


def _commands() -> dict[str, argparse.ArgumentParser]:
    return dict(walk(build_parser()))


def test_every_command_has_two_or_three_examples() -> None:
    """A test walks the parser: a (sub)command without examples, or examples of a command that is gone, fail it."""
    commands = _commands()
    missing = sorted(path or "jobtui" for path in commands if not 2 <= len(EXAMPLES.get(path, ())) <= 3)
    assert not missing, f"add 2-3 examples to src/jobtui/cli/examples.py for: {', '.join(missing)}"
    stale = sorted(set(EXAMPLES) - set(commands))
    assert not stale, f"examples of commands that do not exist: {stale}"


def _invocations(line: str) -> list[list[str]]:
    """Return the argv of each `jobtui …` in an example line (`$(…)` stands for a job id; `&&`, `|`, `;` separate)."""
    runs: list[list[str]] = []
    words: list[str] = []
    for w in [*shlex.split(re.sub(r"\$\([^)]*\)", "1", line)), ";"]:
        if w not in ("&&", "||", "|", ";"):
            if words or not re.fullmatch(r"\w+=.*", w):  # VAR=value before the command is the shell's
                words.append(w)
            continue
        if words and words[0] == "jobtui":
            runs.append(words[1:])
        words = []
    return runs


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_each_example_is_accepted_by_its_parser(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An example the parser refuses would teach a mistake: every `jobtui …` in it parses, with nothing left over."""
    parser = build_parser()
    for what, line in EXAMPLES[path]:
        assert what and "jobtui" in line, (path, line)
        runs = _invocations(line)
        assert runs, line
        for argv in runs:
            try:
                _, extra = parser.parse_known_args(argv)
            except SystemExit:
                pytest.fail(f"example {line!r} is refused: {capsys.readouterr().err.strip()}")
            assert not extra, (line, extra)
    assert any(argv[: len(path.split())] == path.split() for _, line in EXAMPLES[path] for argv in _invocations(line))


@pytest.mark.slow  # runs the CLI in subprocesses
def test_help_ends_with_examples_and_says_the_global_options_once(tmp_path: Path) -> None:
    """`wait --help`: its examples last, --timeout as a DURATION, the global options named in one line, not listed."""
    out = jobtui("wait", "--help", db=tmp_path / "h.db").stdout
    assert out.rstrip().endswith(EXAMPLES["wait"][-1][1]), out
    assert "examples:" in out and "--timeout DURATION" in out
    for option in GLOBAL_OPTIONS:
        assert len(re.findall(rf"{option}(?![\w-])", out)) == 1, (option, out)
    top = jobtui("--help", db=tmp_path / "h.db").stdout
    assert "global options" in top and all(f"{o} " in top for o in GLOBAL_OPTIONS)
    nested = jobtui("schedule", "add", "--help", db=tmp_path / "h.db").stdout
    assert nested.rstrip().endswith(EXAMPLES["schedule add"][-1][1]), nested


def test_metavars_name_the_kind_of_value() -> None:
    """One name per kind: ID for job ids, N for whole numbers, DURATION for times; no argparse DEST-derived names."""
    for path, parser in _commands().items():
        for action in parser._actions:
            if action.dest in ("id", "ids", "after"):
                assert action.metavar == "ID", (path, action.dest, action.metavar)
            kind = getattr(action.type, "metavar", None)
            if kind == "DURATION":
                assert action.metavar == "DURATION", (path, action.option_strings)
            if kind == "N" and action.metavar not in ("N", "PORT"):
                pytest.fail(f"jobtui {path} {action.option_strings}: metavar {action.metavar!r}, expected N")


@pytest.mark.slow  # runs the CLI in subprocesses
def test_defaults_are_shown(tmp_path: Path) -> None:
    """An option with a default says it: export's --format, token add's --scope, run's --grace."""
    db = tmp_path / "h.db"
    assert "default: jsonl" in jobtui("export", "--help", db=db).stdout
    assert "(default: read)" in " ".join(jobtui("token", "add", "--help", db=db).stdout.split())
    assert "--grace DURATION" in jobtui("run", "--help", db=db).stdout


@pytest.mark.slow  # runs the CLI in subprocesses
@pytest.mark.parametrize(("argv", "said"), [
    (["lss"], "unknown command 'lss'; did you mean `jobtui ls`? (see `jobtui --help`)"),
    (["shwo", "1"], "did you mean `jobtui show`?"),
    (["schedule", "ad", "x"], "unknown command 'schedule ad'; did you mean `jobtui schedule add`? "
                              "(see `jobtui schedule --help`)"),
    (["ls", "--stauts", "failed"], "unrecognized arguments: --stauts failed; did you mean --status? "
                                   "(see `jobtui ls --help`)"),
    (["ls", "--follow"], "--follow is an option of `jobtui logs` (see `jobtui ls --help`)"),
    (["schedule", "add", "s", "--every", "1m", "demo", "--priorty", "2"],
     "did you mean --priority? (see `jobtui schedule add --help`)"),
    (["export", "1", "--format", "jsn"], "invalid choice 'jsn' (choose from jsonl, csv); did you mean 'jsonl'?"),
])
def test_a_mistyped_command_or_option_says_what_was_meant(tmp_path: Path, argv: list[str], said: str) -> None:
    """One line, exit 2, the closest command or option, and the help of the (sub)command that was typed."""
    r = jobtui(*argv, db=tmp_path / "none.db")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert said in r.stderr, r.stderr
    assert not (tmp_path / "none.db").exists()


@pytest.mark.slow  # runs the CLI in subprocesses
def test_wait_timeout_takes_a_duration(tmp_path: Path) -> None:
    """`wait --timeout 300ms` (was: seconds only, '300ms' refused): gives up after that long, exit 3."""
    db = tmp_path / "w.db"
    job = cli_submit(db, "demo", "-p", "delay=0")
    started = time.monotonic()
    r = jobtui("wait", str(job), "--timeout", "300ms", db=db)
    assert r.returncode == 3, r.stderr
    assert time.monotonic() - started < 30
    assert jobtui("wait", str(job), "--timeout", "0.2", db=db).returncode == 3, "a plain number is still seconds"
    bad = jobtui("wait", str(job), "--timeout", "soon", db=db)
    assert bad.returncode == 2 and "--timeout" in bad.stderr
