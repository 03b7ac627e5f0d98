"""Issue 17: the races two clients lose against each other at the same instant, on every backend.

Two stores (two connections, as two processes have) start the same write together, so that on
PostgreSQL each reads before the other commits. SQLite's one writer (BEGIN IMMEDIATE) serialises them
anyway; PostgreSQL runs them side by side at READ COMMITTED, where a check-then-write without a lock
or constraint behind it lets both through, and a constraint that catches the loser must not show the
driver's error: the loser gets what a later request would (the refusal in one line, the job already
submitted).
"""

from __future__ import annotations

import asyncio
import os
import socket

from jobtui.errors import InvalidTransitionError, RunnerNameTakenError, UsageError
from jobtui.model import Action, JobStatus, RunnerInfo, Schedule
from jobtui.server.problems import from_jobtui
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job

ROUNDS = 10
"""Each race is run this many times (on PostgreSQL the unguarded code lost every round)."""


def named(store: JobStore, rid: str, name: str) -> RunnerInfo:
    now = store.clock()
    return RunnerInfo(rid, os.getpid(), socket.gethostname(), now, now, 2, 60_000, name, ())


async def two(open_store: OpenStore) -> tuple[JobStore, JobStore]:
    return await open_store(), await open_store()


async def test_two_runners_registering_one_name_at_once_one_is_refused(open_store: OpenStore) -> None:
    a, b = await two(open_store)
    for i in range(ROUNDS):
        got = await asyncio.gather(a.register_runner(named(a, f"a{i}", f"box-{i}")),
                                   b.register_runner(named(b, f"b{i}", f"box-{i}")), return_exceptions=True)
        refused = [g for g in got if isinstance(g, RunnerNameTakenError)]
        assert len(refused) == 1 and got.count(None) == 1, got
    names = [str(r.name) for r in await a.runners()]
    assert sorted(names) == sorted(f"box-{i}" for i in range(ROUNDS)), names


async def test_two_submits_with_one_idempotency_key_at_once_make_one_job(open_store: OpenStore) -> None:
    a, b = await two(open_store)
    for i in range(ROUNDS):
        got = await asyncio.gather(a.add_job_once("alice", f"key-{i}", "fp", new_job(), source="api"),
                                   b.add_job_once("alice", f"key-{i}", "fp", new_job(), source="api"),
                                   return_exceptions=True)
        assert not [g for g in got if isinstance(g, BaseException)], got
        (ja, fa, ca), (jb, fb, cb) = got  # type: ignore[misc]
        assert ja == jb and fa == fb == "fp" and sorted([ca, cb]) == [False, True], got
    assert len(await a.job_ids()) == ROUNDS


async def test_two_submits_with_one_idempotency_key_and_unique_key_at_once(open_store: OpenStore) -> None:
    """The job's unique key clashes before the idempotency key is written: the loser still gets the winner's job."""
    a, b = await two(open_store)
    for i in range(ROUNDS):
        job = new_job(unique_key=f"u-{i}")
        got = await asyncio.gather(a.add_job_once("bob", f"k-{i}", "fp", job, source="api"),
                                   b.add_job_once("bob", f"k-{i}", "fp", job, source="api"), return_exceptions=True)
        assert not [g for g in got if isinstance(g, BaseException)], got
        assert got[0][0] == got[1][0], got  # type: ignore[index]
    assert len(await a.job_ids()) == ROUNDS


async def test_a_unique_key_clash_lost_at_once_is_the_one_line_refusal(open_store: OpenStore) -> None:
    a, b = await two(open_store)
    for i in range(ROUNDS):
        got = await asyncio.gather(a.add_jobs([new_job(unique_key=f"nightly-{i}")]),
                                   b.add_jobs([new_job(unique_key=f"nightly-{i}")]), return_exceptions=True)
        won = [g for g in got if isinstance(g, list)]
        lost = [g for g in got if isinstance(g, BaseException)]
        assert len(won) == 1 and len(lost) == 1, got
        assert isinstance(lost[0], UsageError), repr(lost[0])
        assert str(lost[0]) == f"unique key 'nightly-{i}' already has active job {won[0][0]}"
        assert from_jobtui(lost[0], False).status == 409


async def test_two_retries_of_jobs_with_one_unique_key_at_once(open_store: OpenStore) -> None:
    """Two cancelled jobs share a unique key (ended jobs may): retrying both at once makes only one active."""
    a, b = await two(open_store)
    for i in range(ROUNDS):
        [first] = await a.add_jobs([new_job(unique_key=f"r-{i}")])
        await a.control(first, Action.CANCEL)
        [second] = await a.add_jobs([new_job(unique_key=f"r-{i}")])
        await a.control(second, Action.CANCEL)
        got = await asyncio.gather(a.control(first, Action.RETRY), b.control(second, Action.RETRY),
                                   return_exceptions=True)
        lost = [g for g in got if isinstance(g, BaseException)]
        assert len(lost) == 1 and isinstance(lost[0], InvalidTransitionError), got
        assert f"unique key 'r-{i}' has active job" in str(lost[0])
        assert from_jobtui(lost[0], False).status == 409
        statuses = sorted([(await a.get_job(first)).status, (await a.get_job(second)).status])
        assert statuses == sorted([JobStatus.QUEUED, JobStatus.CANCELLED]), statuses


async def test_the_loser_of_a_race_leaves_nothing_behind(open_store: OpenStore) -> None:
    """A lost unique-key race stores nothing of the loser's submit (its labels, stages, its job)."""
    a, b = await two(open_store)
    got = await asyncio.gather(a.add_jobs([new_job(unique_key="only", labels=(("team", "x"),))]),
                               b.add_jobs([new_job(unique_key="only", labels=(("team", "y"),))]),
                               return_exceptions=True)
    [won] = [g for g in got if isinstance(g, list)]
    assert await a.job_ids() == set(won)
    assert await a.job_labels(won) in ({won[0]: (("team", "x"),)}, {won[0]: (("team", "y"),)})


async def test_a_schedule_firing_and_a_submit_with_one_unique_key_at_once(open_store: OpenStore) -> None:
    """A schedule's job and a submit share a unique key: one job is made, the loser is the one-line refusal."""
    a, b = await two(open_store)
    for i in range(ROUNDS):
        now = a.clock()
        s = Schedule(f"s{i}", None, "UTC", 60_000, now, "t", {}, {}, False, now, now, None, None)
        await a.add_schedule(s)
        got = await asyncio.gather(
            a.fire_schedule(s, occurrence_ms=now, missed=0, next_at_ms=now + 60_000, job=new_job(unique_key=f"s-{i}"),
                            error=None, runner_id="r1"),
            b.add_jobs([new_job(unique_key=f"s-{i}")]), return_exceptions=True)
        lost = [g for g in got if isinstance(g, BaseException)]
        assert len(lost) == 1 and isinstance(lost[0], UsageError), got  # was the driver's duplicate-key error
        assert "already has active job" in str(lost[0])
        active = [j for j in await a.list_jobs() if j.unique_key == f"s-{i}"]
        assert len(active) == 1, active
