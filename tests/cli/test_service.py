"""Issue 19, item 5: `jobtui service install|status|uninstall` writes a systemd user unit (a launchd plist on macOS)
for `jobtui run`, that `systemd-analyze verify` accepts; refused in one line where systemd is absent."""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env, cli_submit, jobtui

SYSTEMD_RUNNING = Path("/run/systemd/system").is_dir()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Config and home in the test's folder: nothing is written to the real ~/.config."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path / "home"), **extra}


def _unit_values(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemctl") is None, reason="no systemctl here: see the refusal test")
def test_install_writes_a_unit_that_runs_the_runner_and_uninstall_removes_it(tmp_path: Path) -> None:
    """The unit: this interpreter by absolute path, the database and app pinned, the run options given, restarted on
    failure only, SIGTERM with a stop timeout above the grace; `systemd-analyze verify` accepts it; its command line,
    run as systemd would (its Environment=, its WorkingDirectory=), runs the queued job."""
    db = tmp_path / "dir with space" / "jobs.db"
    db.parent.mkdir()
    job = cli_submit(db, "demo", "-p", "delay=0", "-p", "items=2")
    env = _env(tmp_path)
    r = jobtui("--app", "journalapp", "service", "install", "--no-enable", "--name", "jt-test", "--",
               "--concurrency", "3", "--grace", "20s", "--exit-when-idle", db=db, **env)
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "config/systemd/user/jt-test.service"
    assert r.stdout.splitlines() == [f"wrote {unit}"]
    text = unit.read_text()
    v = _unit_values(text)
    argv = shlex.split(v["ExecStart"][0])
    assert argv[0] == str(Path(sys.executable).absolute()) and Path(argv[0]).is_absolute()
    assert argv[1:] == ["-m", "jobtui", "run", "--app", "journalapp", "--concurrency", "3", "--grace", "20s",
                        "--exit-when-idle", "--name", "jt-test"], argv
    environment = dict(shlex.split(e)[0].split("=", 1) for e in v["Environment"])
    assert environment["JOBTUI_DB"] == str(db)
    assert v["Restart"] == ["on-failure"] and v["KillSignal"] == ["SIGTERM"] and int(v["TimeoutStopSec"][0]) > 20
    assert v["WantedBy"] == ["default.target"]
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        check = subprocess.run([analyze, "verify", "--user", str(unit)], capture_output=True, text=True, timeout=60,
                               env={**os.environ, **env, "XDG_RUNTIME_DIR": str(runtime)})
        assert check.returncode == 0 and not check.stderr.strip(), check.stderr
    # What systemd would start: the unit's own command line, environment and folder.
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=v["WorkingDirectory"][0],
                         env={**cli_env(None), **environment})
    assert ran.returncode == 0, ran.stderr
    assert "jobtui run: runner jt-test" in ran.stderr and "types: command, demo, fetch, foreach, journal" in ran.stderr
    assert re.search(rf"^{job}\s+demo\s+completed", jobtui("ls", db=db).stdout, re.M)
    # status, a second install refused, uninstall
    r = jobtui("service", "status", "--name", "jt-test", db=db, **env)
    assert r.returncode == 0 and f"jt-test: installed at {unit}" in r.stdout, (r.stdout, r.stderr)
    r = jobtui("service", "install", "--no-enable", "--name", "jt-test", db=db, **env)
    assert r.returncode == 2 and "exists" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    r = jobtui("service", "uninstall", "--name", "jt-test", db=db, **env)
    assert r.returncode == 0 and r.stdout.startswith(f"removed {unit}"), (r.stdout, r.stderr)
    assert not unit.exists()
    r = jobtui("service", "status", "--name", "jt-test", db=db, **env)
    assert r.returncode == 1 and "is not installed" in r.stderr and len(r.stderr.splitlines()) == 1
    r = jobtui("service", "uninstall", "--name", "jt-test", db=db, **env)
    assert r.returncode == 2 and "service 'jt-test' is not installed" in r.stderr


def test_refused_in_one_line_without_systemd(tmp_path: Path) -> None:
    """No systemctl in PATH (a machine without systemd): one line, exit 1, nothing written."""
    empty = tmp_path / "bin"
    empty.mkdir()
    for argv in (["service", "install"], ["service", "install", "--no-enable"], ["service", "status"]):
        r = jobtui(*argv, db=tmp_path / "j.db", **_env(tmp_path, PATH=str(empty)))
        assert r.returncode == 1, (argv, r.stderr)
        err = r.stderr.strip().splitlines()
        said = "is not installed" if argv[1] == "status" else "systemd is absent here (no systemctl in PATH)"
        assert len(err) == 1 and said in err[0], err
    assert not (tmp_path / "config").exists()


@pytest.mark.skipif(SYSTEMD_RUNNING or shutil.which("systemctl") is None, reason="systemd runs here (or is absent)")
def test_refused_in_one_line_where_systemd_is_not_running(tmp_path: Path) -> None:
    """systemctl installed but systemd not running (a container): enabling is refused, nothing written."""
    r = jobtui("service", "install", db=tmp_path / "j.db", **_env(tmp_path))
    assert r.returncode == 1 and "systemd is not running on this machine" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "config").exists()


def test_a_password_stays_out_of_the_unit(tmp_path: Path) -> None:
    """A database URL with a password goes to an environment file only its owner reads, never into the unit."""
    if shutil.which("systemctl") is None:
        pytest.skip("no systemctl here")
    url = "postgresql://jt:s3cret-pw@127.0.0.1:1/jobs"
    r = jobtui("service", "install", "--no-enable", db=url, **_env(tmp_path))
    assert r.returncode == 0, r.stderr
    unit = (tmp_path / "config/systemd/user/jobtui.service").read_text()
    env_file = tmp_path / "config/jobtui/jobtui.env"
    assert "s3cret-pw" not in unit and f"EnvironmentFile={env_file}" in unit
    assert env_file.read_text() == f"JOBTUI_DB={url}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert jobtui("service", "uninstall", db=url, **_env(tmp_path)).returncode == 0 and not env_file.exists()


def test_launchd_plist_for_macos(tmp_path: Path) -> None:
    """On macOS a launchd agent (tested here by asking for launchd): restarted unless it exited 0, its exit timeout
    above the grace, the database and apps pinned; on a machine without launchctl, install says so in one line."""
    db = tmp_path / "j.db"
    r = jobtui("--app", "journalapp", "service", "install", "--manager", "launchd", "--print", "--name", "mac",
               "--", "--grace", "1m", db=db, **_env(tmp_path))
    assert r.returncode == 0, r.stderr
    plist = plistlib.loads(r.stdout.encode())
    assert plist["Label"] == "jobtui.mac"
    assert plist["ProgramArguments"] == [str(Path(sys.executable).absolute()), "-m", "jobtui", "run", "--app",
                                         "journalapp", "--grace", "1m", "--name", "mac"]
    assert plist["EnvironmentVariables"]["JOBTUI_DB"] == str(db)
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["RunAtLoad"] is True
    assert plist["ExitTimeOut"] > 60
    if shutil.which("launchctl") is None:
        r = jobtui("service", "install", "--manager", "launchd", db=db, **_env(tmp_path))
        assert r.returncode == 1 and r.stderr.strip() == (
            "jobtui: error: launchd is absent here (no launchctl in PATH): `jobtui service install --print` shows the"
            " file to install by hand, or run `jobtui run` in tmux"), r.stderr
        assert not (tmp_path / "home/Library").exists()


@pytest.mark.parametrize(("argv", "says"), [
    (["install", "--print", "--name", "a b"], "--name: bad service name 'a b'"),
    (["install", "--print", "--", "--concurrency", "0"], "--concurrency"),
    (["install", "--print", "--", "--nope"], "unrecognized arguments: --nope"),
    (["install", "--manager", "upstart"], "invalid choice 'upstart'"),
    (["instal"], "did you mean `jobtui service install`?"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, argv: list[str], says: str) -> None:
    r = jobtui("service", *argv, db=tmp_path / "j.db", **_env(tmp_path))
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
