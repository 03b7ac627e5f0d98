"""Issue 18 (start-up): a command line that names a subcommand imports that command's module and builds its parser
alone, not every command's (the whole parser and the modules behind it were ~20 ms of each `jobtui foreach` and
`jobtui run` process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jobtui.cli import build_parser
from jobtui.cli.commands import registered
from jobtui.cli.helptext import walk
from jobtui.cli.main import COMMAND_MODULES, named_command


def test_command_modules_name_where_each_command_is_registered() -> None:
    build_parser()
    found = {c.name: (c.run or c.raw).__module__.rsplit(".", 1)[1] for c in registered()}  # type: ignore[union-attr]
    assert found == COMMAND_MODULES, "add the new command's module to COMMAND_MODULES in src/jobtui/cli/main.py"


def test_the_named_command_is_the_first_word_after_global_options() -> None:
    assert named_command(["--db", "x.db", "foreach", "--lines", "f", "--", "true"]) == "foreach"
    assert named_command(["--db=x.db", "--app", "m", "run", "--db", "y"]) == "run"
    assert named_command([]) is None
    assert named_command(["--help"]) is None
    assert named_command(["--theme", "dark", "run"]) is None, "another option: the whole parser decides"
    paths = [path for path, _ in walk(build_parser("foreach"))]
    assert paths == ["", "foreach"]
    assert [p for p, _ in walk(build_parser("nope"))] == [p for p, _ in walk(build_parser())], "unknown: every command"


_IMPORTED = """
import sys
from jobtui.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def test_a_command_line_imports_only_its_own_command_module(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-c", _IMPORTED, "--db", str(tmp_path / "x.db"), "types"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert "one command" in r.stdout, r.stderr[-2000:]
    imported = set(r.stderr.split())
    assert "jobtui.cli.info" in imported
    assert not imported & {"jobtui.cli.completion", "jobtui.cli.export", "jobtui.cli.schedule", "jobtui.cli.web"}


def test_foreach_and_run_load_no_module_only_rarer_paths_need(tmp_path: Path) -> None:
    """Time zones and cron (schedules), TOML (a config or pipeline file), close matches (a typo), the user-data folder
    (no --db) and e-mail dates (a Retry-After) load when used, not at every start (issue 18)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("JOBTUI_CONFIG", None)
    items = tmp_path / "items.txt"
    items.write_text("a\nb\n")
    db = str(tmp_path / "x.db")
    rarer = {"zoneinfo", "cronsim", "tomllib", "difflib", "platformdirs", "email.utils"}
    for args in (["foreach", "--lines", str(items), "--", "true", "{}"], ["run", "--exit-when-idle", "--quiet"]):
        r = subprocess.run([sys.executable, "-c", _IMPORTED, "--db", db, *args], capture_output=True, text=True,
                           env=env, timeout=60)
        imported = set(r.stderr.split())
        assert "jobtui.cli.main" in imported, r.stderr[-2000:]
        assert not imported & rarer, (args[0], sorted(imported & rarer))
