"""Recurring schedules (issue 9, part 3): one firing per occurrence, missed ones folded, skips, bad input."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.engine.scheduler import Scheduler
from jobtui.recurrence import Recurrence
from jobtui.store import Store
from tests.apps.unattendedapp import step
from tests.clock import FakeClock
from tests.conftest import dump, jobtui, make_client, poll, spawn_runner

APP = ("--app", "unattendedapp")


async def test_downtime_fires_once_and_an_active_previous_job_skips(db_path: Path) -> None:
    clock = FakeClock(1_000_000)
    store = await Store.open(db_path, clock=clock)
    try:
        c = make_client(store, step)
        s = await c.add_schedule("tick", "step", every_ms=60_000)
        assert s.next_at_ms == 1_060_000
        sched = Scheduler(store, c.registry, "r1")
        await sched.tick()
        assert sched.fired == 0, "nothing due yet"
        clock.now = 1_000_000 + 10 * 60_000 + 5  # ten occurrences passed while no runner ran
        await sched.tick()
        _, [run] = await c.schedule("tick")
        assert (run.outcome, run.occurrence_ms, run.missed) == ("fired", 1_600_000, 9)
        assert (await c.schedule("tick"))[0].next_at_ms == 1_660_000
        clock.now = 1_660_000  # the job of the last firing has not run: this occurrence skips
        await sched.tick()
        runs = (await c.schedule("tick"))[1]
        assert runs[0].outcome == "skipped" and f"#{run.job_id} is still queued" in (runs[0].detail or "")
        assert len(await c.list_jobs()) == 1
        other = Scheduler(store, c.registry, "r2")  # a second runner seeing the same moment fires nothing more
        await other.tick()
        await sched.tick()
        assert len((await c.schedule("tick"))[1]) == 2
    finally:
        await store.close()


async def test_pause_resume_and_cron_in_a_zone(client: Client) -> None:
    s = await client.add_schedule("nightly", "demo", cron="0 3 * * *", tz="Europe/Berlin")
    rec = Recurrence(s.cron, s.tz, None, s.anchor_ms)
    assert rec.next_after(s.next_at_ms) - s.next_at_ms in (23 * 3600_000, 24 * 3600_000, 25 * 3600_000)
    await client.pause_schedule("nightly")
    assert (await client.schedules())[0].paused
    assert (await client.store.next_schedule_ms()) is None
    assert not (await client.resume_schedule("nightly")).paused


def runs_recorded(db: Path) -> int:
    """Return how many occurrences of schedules were recorded (fired, skipped or folded in)."""
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM schedule_runs").fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow
def test_two_runners_fire_each_occurrence_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    r = jobtui("schedule", "add", "fast", "--every", "1s", "step", *APP, db=db)
    assert r.returncode == 0, r.stderr
    runners = [spawn_runner(db, *APP, "--quiet") for _ in range(2)]
    try:
        poll(lambda: runs_recorded(db) >= 5)  # both runners have raced for at least five occurrences
    finally:
        for p in runners:
            p.send_signal(signal.SIGTERM)
        for p in runners:
            p.communicate(timeout=30)
    con = sqlite3.connect(db)
    try:
        runs = con.execute("SELECT occurrence_ms, outcome, job_id, missed, runner_id FROM schedule_runs"
                           " ORDER BY occurrence_ms").fetchall()
        jobs = con.execute("SELECT job_id FROM jobs ORDER BY job_id").fetchall()
        anchor, every = con.execute("SELECT anchor_ms, every_ms FROM schedules").fetchone()
    finally:
        con.close()
    assert len(runs) >= 4, runs
    occurrences = [r[0] for r in runs]
    assert all((o - anchor) % every == 0 for o in occurrences), "every firing is an occurrence of the period"
    # Every occurrence from the first to the last is accounted for exactly once: fired, skipped or folded in
    # (a first firing later than a second after the add, on a busy machine, folds in the ones before it).
    first = occurrences[0] - runs[0][3] * every
    assert sum(1 + r[3] for r in runs) == (occurrences[-1] - first) // every + 1
    fired = [r for r in runs if r[1] == "fired"]
    assert sorted(r[2] for r in fired) == [j[0] for j in jobs], "one job per firing, none without one"
    assert len({r[4] for r in runs}) <= 2


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_bad_schedules_are_one_line_exit_2_and_store_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert jobtui("schedule", "add", "ok", "--every", "1h", "step", *APP, db=db).returncode == 0
    before = dump(db)
    for args in (
        ("add", "x", "--cron", "61 * * * *", "step"), ("add", "x", "--cron", "* * *", "step"),
        ("add", "x", "--cron", "* * * * *", "--timezone", "Mars/Olympus", "step"),
        ("add", "x", "--every", "0s", "step"), ("add", "x", "--every", "soon", "step"),
        ("add", "x", "--every", "1h", "nosuchtype"), ("add", "x", "--every", "1h", "step", "-p", "sleep=abc"),
        ("add", "ok", "--every", "1h", "step"), ("add", "bad name", "--every", "1h", "step"),
        ("add", "x", "--every", "1h", "--notify-url", "ftp://x", "step"),
        ("pause", "nosuch"), ("rm", "nosuch"),
    ):
        r = jobtui("schedule", *args, *APP, db=db)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error: "), (args, r.stderr)
    assert dump(db) == before
    ls = json.loads(jobtui("schedule", "ls", "--json", *APP, db=db).stdout)
    assert [s["name"] for s in ls] == ["ok"] and ls[0]["next_run"]
