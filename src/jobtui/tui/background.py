"""Start a detached `jobtui run` that takes over this window's jobs when the TUI quits with "keep them running"."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Background:
    """The detached `jobtui run` that took over this window's jobs."""

    pid: int
    log: Path
    process: subprocess.Popen[bytes]


def spawn_runner(db: Path, apps: Sequence[str], concurrency: int) -> Background:
    """Start a detached `jobtui run` on `db` that outlives this process; its output goes beside the db."""
    log = db.parent / f"{db.stem}.runner.log"
    cmd = [sys.executable, "-m", "jobtui", "run", "--db", str(db), "--concurrency", str(concurrency)]
    for module in apps:
        cmd += ["--app", module]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True,
        )
    return Background(process.pid, log, process)
