"""Issue 19, item 4: the config file. Precedence (flag > env > file > default), bad lines, keymap clashes, `config show`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import jobtui


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _jobs(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM jobs").fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow  # runs the CLI in subprocesses
def test_the_database_comes_from_the_flag_then_the_env_then_the_file(tmp_path: Path) -> None:
    """Where `submit` puts a job: --db, else $JOBTUI_DB, else the file's db (the XDG default place, found alone)."""
    home = tmp_path / "xdg"
    (home / "jobtui").mkdir(parents=True)
    (home / "jobtui/config.toml").write_text(f'db = "{tmp_path / "file.db"}"\n')
    env = {"XDG_CONFIG_HOME": str(home)}
    cases = [((), "", "file.db"), ((), str(tmp_path / "env.db"), "env.db"),
             (("--db", str(tmp_path / "flag.db")), str(tmp_path / "env.db"), "flag.db")]
    for flags, env_db, expected in cases:
        r = jobtui(*flags, "submit", "demo", "-p", "delay=0", db=env_db, **env)
        assert r.returncode == 0, r.stderr
        assert _jobs(tmp_path / expected) >= 1, expected
    assert _jobs(tmp_path / "file.db") == 1 and _jobs(tmp_path / "env.db") == 1 and _jobs(tmp_path / "flag.db") == 1


@pytest.mark.slow  # runs the CLI in subprocesses
@pytest.mark.parametrize(("file", "flags", "said"), [
    ("", (), "concurrency 4;"),                                  # the default
    ("concurrency = 3\n", (), "concurrency 3;"),                 # the file
    ("concurrency = 3\n", ("--concurrency", "5"), "concurrency 5;"),  # the flag over the file
])
def test_a_runner_takes_its_concurrency_from_the_flag_then_the_file(tmp_path: Path, file: str, flags: tuple[str, ...],
                                                                    said: str) -> None:
    """`jobtui run` says its concurrency on start: the file's unless the flag gives one, else 4."""
    config = _config(tmp_path, file)
    r = jobtui("--config", str(config), "run", "--exit-when-idle", *flags, db=tmp_path / "r.db")
    assert r.returncode == 0, r.stderr
    assert said in r.stderr, r.stderr


@pytest.mark.slow  # runs the CLI in subprocesses
def test_config_show_says_each_value_and_where_it_came_from(tmp_path: Path) -> None:
    """flag, env, file, default; a password in a URL is never shown; [keys] listed."""
    config = _config(tmp_path, 'keep = "30d"\ntheme = "light"\n[notify]\nurl = "https://u:pw-secret@h.example/x"\n'
                               '[keys]\ncancel = "x"\n')
    r = jobtui("--config", str(config), "--db", str(tmp_path / "f.db"), "config", "show", "--json", db="",
               JOBTUI_APP="journalapp")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    s = out["settings"]
    assert out["file"] == str(config)
    assert (s["db"]["source"], s["apps"]["source"], s["keep"]["source"], s["concurrency"]["source"]) == (
        "flag", "env", "file", "default")
    assert (s["keep"]["value"], s["theme"]["value"], s["concurrency"]["value"]) == ("30d", "light", 4)
    assert s["keys.cancel"] == {"value": "x", "source": "file"}
    assert "pw-secret" not in r.stdout and "***" in s["notify.url"]["value"]
    text = jobtui("--config", str(config), "config", "show", db=tmp_path / "f.db").stdout
    assert "pw-secret" not in text and "keep               30d" in text


@pytest.mark.slow  # runs the CLI in subprocesses
@pytest.mark.parametrize(("text", "said"), [
    ("concurency = 3\n", "line 1: unknown setting 'concurency' (did you mean concurrency?)"),
    ("\n\nconcurrency = 'lots'\n", "line 3: concurrency = 'lots': expected a whole number from 1 to 10000"),
    ("keep = 5\n", "line 1: keep = 5: expected a duration such as '30d', or 'never'"),
    ("[tui]\npoll_interval = '1ms'\n", "line 2: tui.poll_interval = '1ms': expected a duration from 50ms to 60s"),
    ("db = \n", "not TOML: Invalid value (at line 1, column 6)"),
    ("[keys]\ncancel = 'x y'\n", "line 2: keys.cancel = 'x y': expected keys such as"),
])
def test_a_bad_line_is_one_line_naming_the_file_and_the_line(tmp_path: Path, text: str, said: str) -> None:
    """Any command: exit 2, one line with the file, the line and what is wrong; no database made."""
    config = _config(tmp_path, text)
    r = jobtui("ls", db=tmp_path / "none.db", JOBTUI_CONFIG=str(config))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"jobtui: error: config {config}: ") and said in r.stderr, r.stderr
    assert not (tmp_path / "none.db").exists()


@pytest.mark.slow  # runs the CLI in subprocesses
def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    """--config or $JOBTUI_CONFIG naming no file: one line (the default place may have none)."""
    r = jobtui("--config", str(tmp_path / "nope.toml"), "ls", db=tmp_path / "x.db")
    assert r.returncode == 2 and r.stderr == f"jobtui: error: config {tmp_path / 'nope.toml'}: no such file\n"


@pytest.mark.slow  # runs the CLI in subprocesses
@pytest.mark.parametrize(("keys", "said"), [
    ('cancel = "p"', "keys: 'p' is bound to both pause and cancel (rebind one of them in [keys])"),
    ('pause = "j"', "keys: 'j' is bound to both pause and list.down"),
    ('cancle = "x"', "keys: no TUI action 'cancle' (did you mean cancel?)"),
])
def test_a_keymap_clash_is_refused_before_the_screen_opens(tmp_path: Path, keys: str, said: str) -> None:
    """`jobtui tui` with a clash in [keys]: one line, exit 2, no terminal taken over, no runner started."""
    config = _config(tmp_path, f"[keys]\n{keys}\n")
    r = jobtui("--config", str(config), "tui", db=tmp_path / "t.db")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert said in r.stderr and "\x1b[" not in r.stdout, r.stderr


@pytest.mark.slow  # runs the CLI in subprocesses
def test_the_documented_example_is_a_good_config(tmp_path: Path) -> None:
    """The TOML example of docs/cli.md is read without a complaint, and `config show` says its values came from it."""
    docs = (Path(__file__).parent.parent.parent / "docs" / "cli.md").read_text()
    block = docs.split("**Config file.**", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    config = _config(tmp_path, block)
    r = jobtui("--config", str(config), "config", "show", "--json", db="")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)["settings"]
    assert (s["concurrency"], s["keys.cancel"]) == ({"value": 8, "source": "file"}, {"value": "x", "source": "file"})
