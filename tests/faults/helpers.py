"""Shared pieces of the fault tests: a runner whose log goes to a file, journals, database checks."""

from __future__ import annotations

import collections
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from tests.conftest import cli_env, jobtui


class Runner:
    """`jobtui run --app journalapp` in a subprocess, its stderr (the runner's log) kept in a file."""

    def __init__(self, db: Path, log: Path, *args: str, **env: str) -> None:
        self.log_path = log
        self._log: IO[str] = open(log, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobtui", "run", "--app", "journalapp", "--quiet", *args],
            env=cli_env(db, **env), stdout=subprocess.DEVNULL, stderr=self._log, text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"runner {self.pid} still running after {timeout}s; its log:\n{self.log()[-3000:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def poll(cond: Any, timeout: float = 30, every: float = 0.05, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not met in {timeout}s")


def journal(path: Path) -> list[tuple[int, int, str, str, int, int]]:
    """Return the finished executions: (pid, job, stage, item, start_ns, end_ns)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        pid, job, stage, item, start, end = line.split()
        out.append((int(pid), int(job), stage, item, int(start), int(end)))
    return out


def starts(path: Path) -> list[tuple[int, int, str, str, int]]:
    """Return every started execution: (pid, job, stage, item, start_ns)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        pid, job, stage, item, start = line.split()
        out.append((int(pid), int(job), stage, item, int(start)))
    return out


def submit(db: Path, count: int, **params: object) -> list[int]:
    lines = "\n".join(json.dumps(params) for _ in range(count))
    r = jobtui("submit", "journal", "--app", "journalapp", "--from", "-", db=db, input=lines)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def check_database(db: Path, ids: list[int], n: int, *, completed: set[int] | None = None) -> None:
    """Assert: integrity ok; the given jobs completed with n done items, every counter equal to the items table."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status = dict(con.execute("SELECT job_id, status FROM jobs"))
        for job in completed if completed is not None else ids:
            assert status[job] == "completed", f"job {job} is {status[job]}"
            done = con.execute("SELECT count(*) FROM items WHERE job_id = ? AND status = 'done'", (job,)).fetchone()[0]
            assert done == n, f"job {job}: {done} of {n} items committed"
        for job in ids:
            real = dict(con.execute(
                "SELECT stage_index, count(*) FROM items WHERE job_id = ? AND status = 'done' GROUP BY stage_index",
                (job,)))
            for index, items_done in con.execute("SELECT stage_index, items_done FROM stages WHERE job_id = ?", (job,)):
                assert items_done == real.get(index, 0), f"job {job} stage {index}: counter {items_done} != {real}"
            (job_done,) = con.execute("SELECT items_done FROM jobs WHERE job_id = ?", (job,)).fetchone()
            assert job_done == sum(real.values()), f"job {job}: counter {job_done} != items {sum(real.values())}"
    finally:
        con.close()


def export_rows(db: Path, job: int) -> int:
    r = jobtui("export", str(job), "--format", "jsonl", db=db)
    assert r.returncode == 0, r.stderr
    return len([line for line in r.stdout.splitlines() if line.strip()])


def executions(lines: list[tuple[int, int, str, str, int, int]]) -> collections.Counter[tuple[int, str, str]]:
    return collections.Counter((job, stage, item) for _p, job, stage, item, _s, _e in lines)
