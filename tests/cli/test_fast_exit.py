"""Issue 18 (start-up and exit): a finished `jobtui` process exits without tearing the interpreter down.

Freeing hundreds of modules one by one took ~30-100 ms after every `jobtui foreach` and `jobtui run` had done its
work. The process now runs its exit handlers, flushes its output and exits at once; with another thread alive it
exits as before. Real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = '''
import atexit
import sys

from jobtui import Context, JobType


async def step(ctx: Context) -> None:
    return None


noop = JobType("exitnoop", [step])
atexit.register(lambda: print("atexit ran", file=sys.stderr, flush=True))


class Noisy:
    def __del__(self) -> None:
        print("teardown ran", file=sys.stderr, flush=True)


keep = Noisy()
'''


def _jobtui(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "exitapp.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    return subprocess.run([sys.executable, "-m", "jobtui", "--db", str(tmp_path / "x.db"), "--app", "exitapp", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_a_finished_command_runs_its_exit_handlers_and_skips_the_teardown(tmp_path: Path) -> None:
    r = _jobtui(tmp_path, "types")
    assert r.returncode == 0, r.stderr
    assert "exitnoop" in r.stdout, "its output is flushed"
    assert "atexit ran" in r.stderr
    assert "teardown ran" not in r.stderr


def test_an_error_keeps_its_exit_status_and_its_message(tmp_path: Path) -> None:
    r = _jobtui(tmp_path, "show", "99")
    assert r.returncode == 1
    assert r.stderr.startswith("jobtui: error: ") and "atexit ran" in r.stderr


def test_under_a_profiler_it_exits_as_before_so_the_profile_is_written(tmp_path: Path) -> None:
    out = tmp_path / "p.prof"
    (tmp_path / "exitapp.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    r = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "jobtui", "--db", str(tmp_path / "x.db"),
                        "--app", "exitapp", "types"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
