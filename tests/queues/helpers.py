"""Pieces of the queue tests: a database of either backend, jobs in a queue, intervals from the journal."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import jobtui
from tests.faults.helpers import Db, journal


def queue_cmd(db: Db, *args: str) -> str:
    """Run `jobtui queue ARGS`; return its stdout (asserting exit 0)."""
    r = jobtui("queue", *args, db=db)
    assert r.returncode == 0, r.stderr
    return r.stdout


def submit_to(db: Db, queue: str, count: int, *options: str, **params: object) -> list[int]:
    """Submit `count` journal jobs into `queue`; return their ids."""
    lines = "\n".join(json.dumps(params) for _ in range(count))
    r = jobtui("submit", "journal", "--app", "journalapp", "--from", "-", "--queue", queue, *options, db=db,
               input=lines)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def job_intervals(path: Path) -> dict[int, tuple[int, int, int]]:
    """Return each job's (first start, last end, pid) as its own journal says (ns)."""
    out: dict[int, tuple[int, int, int]] = {}
    for pid, job, _stage, _item, start, end in journal(path):
        s, e, _ = out.get(job, (start, end, pid))
        out[job] = (min(s, start), max(e, end), pid)
    return out


def most_at_once(intervals: list[tuple[int, int]]) -> int:
    """Return the most intervals that overlap at any instant (an end before a start at the same instant)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most
