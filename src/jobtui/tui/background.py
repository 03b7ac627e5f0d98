"""Start a detached `jobtui run` that takes over this window's jobs when the TUI quits with "keep them running"."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..private import open_private_log, private_dir


@dataclass(frozen=True, slots=True)
class Background:
    """The detached `jobtui run` that took over this window's jobs."""

    pid: int
    log: Path
    process: subprocess.Popen[bytes]


def spawn_runner(db: Path | str, apps: Sequence[str], concurrency: int, *, log_dir: Path | None = None,
                 workspace_root: Path | None = None) -> Background:
    """Start a detached `jobtui run` on `db` that outlives this process; its output goes beside the db.

    A database URL (PostgreSQL) reaches the runner through $JOBTUI_DB, never its command line (which any
    user of the host may read, password included); its log goes to `log_dir`. With `workspace_root`, it
    keeps the jobs' workspaces where this process kept them.
    """
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "jobtui", "run", "--concurrency", str(concurrency)]
    if workspace_root is not None:
        cmd += ["--workspace-root", str(workspace_root)]
    if isinstance(db, Path):
        log = db.parent / f"{db.stem}.runner.log"
        cmd += ["--db", str(db)]
    else:
        folder = log_dir if log_dir is not None else Path.cwd()
        private_dir(folder)
        log = folder / "runner.log"
        env["JOBTUI_DB"] = db
    for module in apps:
        cmd += ["--app", module]
    # 0600 and never through a symlink: the database's folder may be one others write in (issue 14, item 10).
    with os.fdopen(open_private_log(log), "ab") as out:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True, env=env,
        )
    return Background(process.pid, log, process)
