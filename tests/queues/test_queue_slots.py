"""Issue 21 item 1: slots. Two runners never give one slot to two running jobs ($JOBTUI_SLOT, commands), and a
SIGKILLed runner's slots are free again once its jobs are recovered. Real runner processes, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import jobtui
from tests.faults.helpers import Db, Runner, poll, rows
from tests.queues.helpers import most_at_once, queue_cmd, submit_to

pytestmark = pytest.mark.slow

SLOT_JOB = ("import os, sys, time; s = time.time_ns(); time.sleep(0.3); fd = os.open(sys.argv[1], os.O_WRONLY"  # sleep: each job holds its slot a while, so that sharing one would overlap
            " | os.O_APPEND | os.O_CREAT); os.write(fd, f\"{os.environ['JOBTUI_SLOT']} {s} {time.time_ns()}"
            " {os.environ['JOBTUI_JOB_ID']}\\n\".encode())")
"""A command that notes its slot, its start and its end (ns) and its job id, in one append."""


def _completed(db: Db, ids: list[int]) -> bool:
    done = dict(rows(db, "SELECT job_id, status FROM jobs"))
    return all(done.get(j) == "completed" for j in ids)


def test_slots_are_never_shared_across_runners(db: Db, tmp_path: Path) -> None:
    """A queue of 3 slots, 12 command jobs, runners of concurrency 5 (2 on SQLite, 4 on PostgreSQL): each slot runs one
    job at a time."""
    notes = tmp_path / "slots.txt"
    queue_cmd(db, "add", "gpu", "--concurrency", "3", "--slots")
    ids = []
    for _ in range(12):
        r = jobtui("add", "--queue", "gpu", "--", sys.executable, "-c", SLOT_JOB, str(notes), db=db)
        assert r.returncode == 0, r.stderr
        ids.append(int(r.stdout))
    runners = [Runner(db, tmp_path / f"r{i}.log", "--concurrency", "5") for i in range(2 if isinstance(db, Path) else 4)]
    try:
        poll(lambda: _completed(db, ids), timeout=120, what="every job completed")
    finally:
        for r in runners:
            r.close()
    seen = [line.split() for line in notes.read_text().splitlines()]
    assert sorted(int(job) for *_, job in seen) == ids, "each job noted its slot once"
    by_slot: dict[int, list[tuple[int, int]]] = {}
    for slot, start, end, _job in seen:
        by_slot.setdefault(int(slot), []).append((int(start), int(end)))
    assert set(by_slot) == {0, 1, 2}, by_slot.keys()
    for slot, spans in by_slot.items():
        assert most_at_once(spans) == 1, f"slot {slot} ran two jobs at once: {sorted(spans)}"
    assert most_at_once([s for spans in by_slot.values() for s in spans]) == 3


def test_a_sigkilled_runners_slots_are_free_after_recovery(db: Db, tmp_path: Path) -> None:
    """Both slots held by a runner that is SIGKILLed: the next runner recovers its jobs, and a new job gets a slot.
    On PostgreSQL three more runners work beside it all along (four in all), none of which may take a held slot."""
    queue_cmd(db, "add", "gpu", "--concurrency", "2", "--slots")
    held = submit_to(db, "gpu", 2, n=1, stage_sleep=60)
    env = {"JOBTUI_TEST_JOURNAL": str(tmp_path / "journal.txt")}
    first = Runner(db, tmp_path / "a.log", "--concurrency", "4", **env)
    others: list[Runner] = []
    try:
        poll(lambda: sorted(r[0] for r in rows(db, "SELECT slot FROM jobs WHERE status = 'running'")) == [0, 1],
             timeout=60, what="both jobs running in slots 0 and 1")
        if not isinstance(db, Path):
            others = [Runner(db, tmp_path / f"o{i}.log", "--concurrency", "4", **env) for i in range(3)]
            poll(lambda: int(rows(db, "SELECT count(*) FROM runners")[0][0]) >= 4, timeout=60,
                 what="four runners registered")
    finally:
        first.close()  # SIGKILL
    urgent = submit_to(db, "gpu", 1, "--priority", "10", n=1, stage_sleep=0.01, item_sleep=0.01)
    try:
        assert rows(db, f"SELECT status FROM jobs WHERE job_id = {urgent[0]}")[0][0] == "queued"
        second = Runner(db, tmp_path / "b.log", "--concurrency", "1", **env)
        try:
            poll(lambda: _completed(db, urgent), timeout=60, what="the new job completed")
        finally:
            second.close()
        running = rows(db, "SELECT slot FROM jobs WHERE status = 'running' AND slot IS NOT NULL")
        assert len({r[0] for r in running}) == len(running), f"a slot shared after recovery: {running}"
    finally:
        for r in others:
            r.close()
    assert rows(db, f"SELECT slot FROM jobs WHERE job_id = {urgent[0]}")[0][0] in (0, 1)
    recovered = dict(rows(db, "SELECT job_id, recovery_count FROM jobs"))
    assert all(recovered[j] >= 1 for j in held), "the dead runner's jobs were recovered"
    assert json.loads(jobtui("queue", "show", "gpu", "--json", db=db).stdout)["slots"] is True
