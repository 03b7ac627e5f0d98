"""Issue 10 (5): several real runner processes on one database under real faults.

Four `jobtui run` processes share one database. One is SIGKILLed and another SIGSTOPped past its
lease mid-run (then SIGCONT): every job completes, no job runs in two processes at once, and no
committed stage or item runs again. On PostgreSQL the server itself is restarted mid-run
(`pg_ctl restart`): the runners reconnect and everything completes, nothing committed runs again.

The jobs (tests/apps/journalapp.py) journal every start and end themselves, with the pid, so the
checks read what really ran and when; what was committed is read from the database while it runs.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.backends import PgCluster
from tests.faults.helpers import Db, Runner, check_database, journal, poll, rows, starts, stop_alive, submit
from tests.sizing import FULL
from tests.test_processes import freeze_outside_a_transaction

pytestmark = pytest.mark.slow

STAGE_INDEX = {"first": 0, "items": 1, "last": 2}


@dataclass
class Watch:
    """What was committed, read again and again while the runners work: (read at, committed keys)."""

    db: Db
    seen: list[tuple[int, frozenset[tuple[int, int, str]]]] = field(default_factory=list)

    def look(self) -> dict[int, str]:
        """Record what is committed now; return every job's status."""
        done = {(j, s, k) for j, s, k in rows(self.db, "SELECT job_id, stage_index, key FROM items WHERE status = 'done'")}
        done |= {(j, s, "-") for j, s in rows(self.db, "SELECT job_id, stage_index FROM stages WHERE status = 'completed'")}
        self.seen.append((time.time_ns(), frozenset(done)))
        return dict(rows(self.db, "SELECT job_id, status FROM jobs"))

    def until_all(self, ids: list[int], status: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while True:
            now = self.look()
            if all(now.get(j) == status for j in ids):
                return
            if time.monotonic() > end:
                raise AssertionError(f"not every job {status} in {timeout}s: {collections.Counter(now.values())}")
            time.sleep(0.2)  # sleep: a poll's step

    def no_committed_work_ran_again(self, started: list[tuple[int, int, str, str, int]]) -> None:
        """Assert: nothing started after a look at what was committed then."""
        for pid, job, stage, item, start in started:
            key = (job, STAGE_INDEX[stage], item)
            for at, done in self.seen:
                if at < start and key in done:
                    raise AssertionError(f"runner {pid} started {key}, committed before {at}, again at {start}")


def executions(jr: Path, st: Path, cut: dict[int, int]) -> dict[int, list[tuple[int, int, int]]]:
    """Return each job's executions as (start, end, pid).

    An execution that never ended (its runner was killed) ends at its runner's `cut`; one that spans
    a freeze is cut at the freeze (the process ran nothing while stopped, and finished the in-flight
    item's tail when woken, which the frozen-runner checks look at separately).
    """
    ends = {(pid, job, stage, item, s): e for pid, job, stage, item, s, e in journal(jr)}
    out: dict[int, list[tuple[int, int, int]]] = collections.defaultdict(list)
    for pid, job, stage, item, s in starts(st):
        e = ends.get((pid, job, stage, item, s), cut.get(pid, s))
        if pid in cut and s < cut[pid]:
            e = min(e, cut[pid])
        out[job].append((s, e, pid))
    return out


def assert_never_twice_at_once(runs: dict[int, list[tuple[int, int, int]]]) -> None:
    """Assert: no job had executions in two processes overlapping in time."""
    for job, spans in runs.items():
        active: list[tuple[int, int, int]] = []
        for s, e, pid in sorted(spans):
            active = [a for a in active if a[1] > s]
            other = [a for a in active if a[2] != pid]
            assert not other, f"job {job} ran in runners {pid} and {other[0][2]} at once: {(s, e)} vs {other[0][:2]}"
            active.append((s, e, pid))


def freeze_inside_a_transaction(proc: subprocess.Popen[str], url: str) -> None:
    """SIGSTOP a runner while its session is inside a write transaction (holding the row locks it took).

    Frozen there, it would hold those rows until it wakes, unless the server ends its session
    (idle_in_transaction_session_timeout). Each try stops it for a moment only (a session idle in a
    transaction that wrote or locked rows, the same transaction still there 50 ms later: the frozen one).
    """
    holders = ("SELECT a.pid, a.xact_start FROM pg_stat_activity a WHERE a.state = 'idle in transaction'"
               " AND a.backend_xid IS NOT NULL AND a.datname = current_database()")
    for _ in range(300):
        proc.send_signal(signal.SIGSTOP)
        first = set(rows(url, holders))
        if first:
            time.sleep(0.05)  # sleep: the runner stays stopped a moment inside its transaction
            if first & set(rows(url, holders)):
                return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.1)  # sleep: the runner runs a moment before it is stopped again
    raise AssertionError("never caught the runner inside a transaction")


def unfinished(watch: Watch, jobs: set[int]) -> set[int]:
    now = watch.look()
    return {j for j in jobs if now[j] != "completed"}


def working_on(st: Path, pid: int, since_ns: int) -> set[int]:
    return {job for p, job, _stage, _item, s in starts(st) if p == pid and s >= since_ns}


@pytest.mark.timeout(180)
def test_four_runners_one_killed_one_frozen_past_its_lease(tmp_path: Path, db: Db) -> None:
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    # Each job runs about 3 s (twelve of them on eight slots): the victims still hold unfinished jobs when the
    # kill and the freeze land. JOBTUI_TEST_FULL=1: 300 items of 10 ms each instead of 100 of 30 ms.
    n, item_sleep = (300, 0.01) if FULL else (100, 0.03)
    ids = submit(db, 12, n=n, item_sleep=item_sleep, workers=1)
    env = {"JOBTUI_TEST_JOURNAL": str(jr), "JOBTUI_TEST_STARTS": str(st)}
    runners = [Runner(db, tmp_path / f"r{k}.log", "--concurrency", "2", "--lease-ttl", "2", **env) for k in range(4)]
    watch = Watch(db)
    try:
        poll(lambda: {p for p, *_ in starts(st)} >= {r.pid for r in runners}, timeout=60, what="all four runners working")
        # The two victims: runners that hold unfinished jobs right now.
        recent = time.time_ns() - 1_000_000_000
        busy = [r for r in runners if working_on(st, r.pid, recent)]
        assert len(busy) >= 2, "fewer than two runners busy"
        killed, frozen = busy[0], busy[1]
        watch.look()
        killed.proc.send_signal(signal.SIGKILL)
        killed.proc.wait(10)
        kill_ns = time.time_ns()
        lost = unfinished(watch, working_on(st, killed.pid, recent))
        if isinstance(db, Path):
            freeze_outside_a_transaction(frozen.proc, db)  # a frozen SQLite lock holder stops every writer
        else:
            freeze_inside_a_transaction(frozen.proc, db)  # the worst moment: holding the rows it writes
        stop_ns = time.time_ns()  # just after the last SIGSTOP (the search for the moment may stop it briefly before)
        held = unfinished(watch, working_on(st, frozen.pid, recent))
        assert lost and held, (lost, held)
        alive = {r.pid for r in runners} - {killed.pid, frozen.pid}
        # Past the frozen runner's lease, the others take both runners' jobs over.
        poll(lambda: (lost | held) <= {j for p, j, *_ in starts(st) if p in alive and j in lost | held},
             timeout=60, what="the killed and frozen runners' jobs taken over")
        watch.look()
        frozen.proc.send_signal(signal.SIGCONT)
        cont_ns = time.time_ns()
        watch.until_all(ids, "completed", timeout=90)
        stop_alive([r for r in runners if r is not killed])
    finally:
        for r in runners:
            r.proc.send_signal(signal.SIGCONT)
            r.close()

    check_database(db, ids, n)
    started = starts(st)
    watch.no_committed_work_ran_again(started)
    late = [s for s in started if s[0] == frozen.pid and s[1] in held and s[4] >= cont_ns]
    assert not late, f"the woken runner started work on jobs it had lost: {late[:3]}"
    assert_never_twice_at_once(executions(jr, st, {killed.pid: kill_ns, frozen.pid: stop_ns}))
    recovered = dict(rows(db, "SELECT job_id, recovery_count FROM jobs"))
    assert all(recovered[j] >= 1 for j in lost | held), recovered
    # Every item ran; only those in flight at the kill or the freeze ran twice.
    counts = collections.Counter((job, stage, item) for _p, job, stage, item, _s in started)
    assert {k[2] for k in counts if k[1] == "items"} == {f"i{i:04d}" for i in range(n)}
    assert max(counts.values()) <= 2


@pytest.mark.timeout(180)
def test_postgresql_restarted_mid_run(tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    n = 200
    ids = submit(pg_url, 8, n=n, item_sleep=0.01, workers=1)
    env = {"JOBTUI_TEST_JOURNAL": str(jr), "JOBTUI_TEST_STARTS": str(st)}
    runners = [Runner(pg_url, tmp_path / f"r{k}.log", "--concurrency", "2", "--lease-ttl", "5", **env) for k in range(4)]
    watch = Watch(pg_url)
    try:
        # Every runner at work first: one still opening its store when the server goes away exits (its start-up
        # checks do not retry), and that is not what this test is about.
        poll(lambda: len(starts(st)) >= 100 and {p for p, *_ in starts(st)} >= {r.pid for r in runners}, timeout=60,
             what="work under way in every runner")
        watch.look()
        before = len(starts(st))
        pg_cluster.restart("fast")  # every session is ended; the runners see their connections drop
        watch.look()
        poll(lambda: len(starts(st)) >= before + 100, timeout=60, what="work after the restart")
        watch.until_all(ids, "completed", timeout=120)
        stop_alive(runners)
    finally:
        for r in runners:
            r.close()

    check_database(pg_url, ids, n)
    started = starts(st)
    watch.no_committed_work_ran_again(started)
    assert_never_twice_at_once(executions(jr, st, {}))
    counts = collections.Counter((job, stage, item) for _p, job, stage, item, _s in started)
    assert {k[2] for k in counts if k[1] == "items"} == {f"i{i:04d}" for i in range(n)}
    logs = "".join(r.log() for r in runners)
    assert "reconnected" in logs, "the restart reached the runners"
    assert "s3cret-pg-pw" not in logs, "the password never reaches a log"
