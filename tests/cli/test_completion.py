"""Issue 19, item 3: `jobtui completion bash|zsh|fish [--install]`, exercised in the real shells.

bash: the script is sourced, `complete -p jobtui` shows it, and its completion function is called as bash calls
it on a TAB (COMP_WORDS, COMP_CWORD). fish: `complete -C` on a command line. zsh: an interactive zsh in tmux,
TAB pressed, the screen read. Job ids and schedule names come from the database named by --db.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from jobtui.cli.completion import HELPER
from tests.conftest import cli_submit, dump, jobtui, poll


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with three jobs and a schedule named nightly."""
    db = tmp_path_factory.mktemp("completion") / "c.db"
    for _ in range(3):
        cli_submit(db, "demo", "-p", "delay=0")
    assert jobtui("schedule", "add", "nightly", "--every", "1h", "demo", db=db).returncode == 0
    return db


def _script(shell: str, tmp_path: Path) -> Path:
    r = jobtui("completion", shell, db=tmp_path / "default-not-made.db")
    assert r.returncode == 0, r.stderr
    path = tmp_path / f"jobtui.{shell}"
    path.write_text(r.stdout)
    return path


BASH_TAB = r"""
source "$1"
complete -p jobtui
tab() {  # complete the words given, as bash does on a TAB after the last one
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _shtab_jobtui jobtui "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  echo "$*|${COMPREPLY[*]}"
}
"""


@pytest.mark.slow  # runs real shells (bash, zsh, fish) and the CLI
def test_bash_completes_commands_options_ids_names_and_types(tmp_path: Path, world: Path) -> None:
    """Commands, options, job ids and schedule names from --db, job types and statuses, in a real bash."""
    script = _script("bash", tmp_path)
    db = str(world)
    lines = [f"tab jobtui {w}" for w in (
        "sh", "ls --st", f"--db {db} show ''", f"pause --db {db} 1 ''", f"--db {db} schedule pause ''",
        "submit d", "ls --status fa", "logs --all -n 5 --r",
    )]
    r = subprocess.run(["bash", "-c", BASH_TAB + "\n".join(lines), "bash", str(script)], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "JOBTUI_DB": str(tmp_path / "none.db")})
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "complete -o bashdefault -F _shtab_jobtui jobtui", out
    replies = dict(line.split("|", 1) for line in out[1:])
    assert replies["jobtui sh"] == "show"
    assert replies["jobtui ls --st"].split() == ["--status", "--stage"]
    assert replies[f"jobtui --db {db} show "].split() == ["3", "2", "1"]
    assert replies[f"jobtui pause --db {db} 1 "].split() == ["3", "2", "1"]
    assert replies[f"jobtui --db {db} schedule pause "] == "nightly"
    assert replies["jobtui submit d"] == "demo"
    assert replies["jobtui ls --status fa"] == "failed"
    assert replies["jobtui logs --all -n 5 --r"] == "--raw"


@pytest.mark.slow  # runs real shells (bash, zsh, fish) and the CLI
@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_ids_with_their_status_and_installs_where_fish_looks(tmp_path: Path, world: Path) -> None:
    """`complete -C` in fish: ids with status and type; `--install` writes ~/.config/fish/completions/jobtui.fish."""
    config = tmp_path / "config"
    r = jobtui("completion", "fish", "--install", db=tmp_path / "none.db", XDG_CONFIG_HOME=str(config))
    assert r.returncode == 0, r.stderr
    installed = config / "fish/completions/jobtui.fish"
    assert f"wrote {installed}" in r.stdout and installed.is_file()
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "JOBTUI_DB": str(world)}
    lines = ["jobtui sho", "jobtui show ", f"jobtui --db {world} schedule resume ", "jobtui tui --theme jobtui-l"]
    fish = "; ".join(f"complete -C {line!r}; echo ==" for line in lines)
    # fish finds the installed file by itself, in $XDG_CONFIG_HOME/fish/completions (nothing sourced here).
    r = subprocess.run(["fish", "-c", fish], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    sho, ids, schedules, theme, _ = r.stdout.split("==\n")
    assert sho.startswith("show\tshow one job")
    assert ids.splitlines() == ["3\tqueued  demo", "2\tqueued  demo", "1\tqueued  demo"]
    assert schedules.split("\t")[0] == "nightly"
    assert theme.split("\t")[0] == "jobtui-light"


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10).stdout


@pytest.mark.slow  # runs real shells (bash, zsh, fish) and the CLI
@pytest.mark.skipif(shutil.which("zsh") is None or shutil.which("tmux") is None, reason="zsh or tmux is not installed")
def test_zsh_completes_ids_in_an_interactive_shell(tmp_path: Path, world: Path) -> None:
    """An interactive zsh (in tmux) with the script in its fpath: TAB after `show` lists the ids of --db."""
    r = jobtui("completion", "zsh", "--install", db=tmp_path / "none.db", XDG_DATA_HOME=str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "data/zsh/site-functions"
    assert (folder / "_jobtui").is_file() and f"fpath=({folder} $fpath)" in r.stdout
    socket = f"jt-zsh-{uuid.uuid4().hex[:8]}"
    env = f"env -i HOME={tmp_path} TERM=xterm PATH=/usr/bin:/bin"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "z", "-x", "120", "-y", "20", f"{env} zsh -f"],
                   check=True, timeout=10)
    try:
        _tmux(socket, "send-keys", "-t", "z", f"fpath=({folder} $fpath); autoload -U compinit; compinit -u; "
                                             "PS1='ready> '", "Enter")
        poll(lambda: "ready> " in _tmux(socket, "capture-pane", "-p", "-t", "z"), timeout=30, what="zsh prompt")
        _tmux(socket, "send-keys", "-t", "z", f"jobtui --db {world} show ", "Tab")
        shown = poll(lambda: next((ln for ln in _tmux(socket, "capture-pane", "-p", "-t", "z").splitlines()
                                   if "queued  demo" in ln), None), timeout=30, what="the ids listed")
        assert shown.split()[:3] == ["1", "2", "3"], shown
        _tmux(socket, "send-keys", "-t", "z", "C-u", f"jobtui --db {world} schedule pau", "Tab")
        poll(lambda: any(ln.rstrip().endswith("schedule pause") for ln in  # tmux drops the trailing space
                         _tmux(socket, "capture-pane", "-p", "-t", "z").splitlines()), timeout=30,
             what="the action completed")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)


def test_the_id_lister_only_reads(tmp_path: Path, world: Path) -> None:
    """The TAB-time helper creates no file, changes no database, and says nothing of a file that is not jobtui's."""
    before = dump(world)
    run = [sys.executable, "-I", "-S", str(HELPER)]
    ok = subprocess.run([*run, "ids", str(world), "", "plain"], capture_output=True, text=True, timeout=30)
    assert ok.stdout.split() == ["3", "2", "1"] and dump(world) == before
    missing = tmp_path / "missing.db"
    assert subprocess.run([*run, "ids", "", str(missing), "plain"], capture_output=True, text=True,
                          timeout=30, env={}).stdout == ""
    assert not missing.exists()
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n")
    r = subprocess.run([*run, "schedules", str(other), "", "zsh"], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "") and other.read_text() == "not a database\n"
    pg = subprocess.run([*run, "queues", "postgresql://u:pw@h/db", "", "tab"], capture_output=True, text=True,
                        timeout=30)
    assert (pg.returncode, pg.stdout) == (0, "")


@pytest.mark.slow  # runs real shells (bash, zsh, fish) and the CLI
def test_a_shell_it_cannot_complete_is_one_line(tmp_path: Path) -> None:
    """An unknown shell, or none given with $SHELL naming one it has no script for: one line, exit 2."""
    bad = jobtui("completion", "tcsh", db=tmp_path / "x.db")
    assert bad.returncode == 2 and "did you mean" not in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr
    none = jobtui("completion", db=tmp_path / "x.db", SHELL="/bin/ksh")
    assert none.returncode == 2 and "'ksh' from $SHELL" in none.stderr and none.stderr.count("\n") == 1
    assert not (tmp_path / "x.db").exists()


def test_bash_completes_the_new_commands_of_issue_19(tmp_path: Path) -> None:
    """service install|status|uninstall, runners stop, ls --columns and show --env are in the script (shtab)."""
    script = _script("bash", tmp_path)
    lines = [f"tab jobtui {w}" for w in ("servi", "service ''", "service install --n", "runners st", "ls --col",
                                         "show 1 --e")]
    r = subprocess.run(["bash", "-c", BASH_TAB + "\n".join(lines), "bash", str(script)], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "JOBTUI_DB": str(tmp_path / "none.db")})
    assert r.returncode == 0, r.stderr
    replies = dict(line.split("|", 1) for line in r.stdout.splitlines()[1:])
    assert replies["jobtui servi"] == "service"
    assert replies["jobtui service "].split() == ["install", "status", "uninstall"]
    assert replies["jobtui service install --n"].split() == ["--name", "--no-enable"]
    assert replies["jobtui runners st"] == "stop"
    assert replies["jobtui ls --col"] == "--columns"
    assert replies["jobtui show 1 --e"] == "--env"
