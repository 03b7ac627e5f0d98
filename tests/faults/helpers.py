"""Shared pieces of the fault tests: a runner whose log goes to a file, journals, database checks.

A database is a SQLite file (a Path) or a postgresql:// URL (a str): the checks read either through
`rows()`, so the same fault test runs against both backends (tests/pg).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import IO, Any

from tests import pgconn
from tests.conftest import jobtui, spawn_runner, stop_runner
from tests.conftest import poll as poll  # the one sync polling helper, re-exported for the fault tests

Db = Path | str
"""A SQLite file, or a postgresql:// URL."""


def rows(db: Db, sql: str) -> list[tuple[Any, ...]]:
    """Run one query (no parameters) on a SQLite file or a PostgreSQL URL; return its rows.

    PostgreSQL is read over one connection kept per database (tests/pgconn.py), its values as Python values.
    """
    if isinstance(db, Path):
        con = sqlite3.connect(db)
        try:
            return list(con.execute(sql))
        finally:
            con.close()
    return pgconn.query(db, sql)


class Runner:
    """`jobtui run --app journalapp` in a subprocess, its stderr (the runner's log) kept in a file."""

    def __init__(self, db: Db, log: Path, *args: str, **env: str) -> None:
        self.log_path = log
        self._log: IO[str] = open(log, "a")  # noqa: SIM115 - open while the runner lives; closed by close()
        self.proc = spawn_runner(db, "--app", "journalapp", "--quiet", *args, stdout=subprocess.DEVNULL, stderr=self._log,
                                 **env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"runner {self.pid} still running after {timeout}s; its log:\n{self.log()[-3000:]}") from None

    def close(self) -> None:
        stop_runner(self.proc, signal.SIGKILL, timeout=10)
        self._log.close()


def stop_alive(runners: list[Runner]) -> None:
    """Check that every runner still runs, SIGTERM them all, and check that each exits 0 (its jobs handed back)."""
    for r in runners:
        assert r.proc.poll() is None, f"runner {r.pid} exited: {r.log()[-2000:]}"
        r.proc.send_signal(signal.SIGTERM)
    for r in runners:
        assert r.wait(30) == 0, r.log()[-2000:]


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


def submit(db: Db, count: int, **params: object) -> list[int]:
    lines = "\n".join(json.dumps(params) for _ in range(count))
    r = jobtui("submit", "journal", "--app", "journalapp", "--from", "-", db=db, input=lines)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def check_database(db: Db, ids: list[int], n: int, *, completed: set[int] | None = None) -> None:
    """Assert: integrity ok (SQLite); the given jobs completed with n done items, every counter equal to the items table."""
    if isinstance(db, Path):
        assert rows(db, "PRAGMA integrity_check")[0][0] == "ok"
    status = dict(rows(db, "SELECT job_id, status FROM jobs"))
    done = dict(rows(db, "SELECT job_id, count(*) FROM items WHERE status = 'done' GROUP BY job_id"))
    for job in completed if completed is not None else ids:
        assert status[job] == "completed", f"job {job} is {status[job]}"
        assert done.get(job, 0) == n, f"job {job}: {done.get(job, 0)} of {n} items committed"
    real: dict[int, dict[int, int]] = collections.defaultdict(dict)
    for job, index, count in rows(
            db, "SELECT job_id, stage_index, count(*) FROM items WHERE status = 'done' GROUP BY job_id, stage_index"):
        real[job][index] = count
    counters = rows(db, "SELECT job_id, stage_index, items_done FROM stages")
    job_done = dict(rows(db, "SELECT job_id, items_done FROM jobs"))
    for job in ids:
        for j, index, items_done in counters:
            if j == job:
                assert items_done == real[job].get(index, 0), f"job {job} stage {index}: counter {items_done} != {real[job]}"
        assert job_done[job] == sum(real[job].values()), f"job {job}: counter {job_done[job]} != items {sum(real[job].values())}"


def export_rows(db: Db, job: int) -> int:
    r = jobtui("export", str(job), "--format", "jsonl", db=db)
    assert r.returncode == 0, r.stderr
    return len([line for line in r.stdout.splitlines() if line.strip()])


def executions(lines: list[tuple[int, int, str, str, int, int]]) -> collections.Counter[tuple[int, str, str]]:
    return collections.Counter((job, stage, item) for _p, job, stage, item, _s, _e in lines)


def sigkill(pids: list[int]) -> None:
    """SIGKILL each pid (those already gone are skipped): a test's cleanup of what it found left."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
