"""Issue 17: a runner frozen inside a transaction stops nobody else's work.

Under the global write lock (every write transaction took one `pg_advisory_xact_lock`), a runner
SIGSTOPped inside a transaction held every other runner's claims and commits until the server ended
its session (idle_in_transaction_session_timeout, 5 s). With row locks it holds only the rows of its
own jobs: the three others keep claiming and committing while it is frozen, well inside those 5 s.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from jobtui.store.postgres import IDLE_IN_TRANSACTION_MS
from tests.faults.helpers import Runner, check_database, poll, rows, starts, stop_alive, submit
from tests.pg.test_fleet_faults import Watch, freeze_inside_a_transaction
from tests.sizing import FULL

pytestmark = pytest.mark.slow


def _db_ms(url: str) -> int:
    return int(rows(url, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")[0][0])


def _done_items(url: str) -> int:
    return int(rows(url, "SELECT count(*) FROM items WHERE status = 'done'")[0][0])


@pytest.mark.timeout(180)
def test_three_runners_claim_and_commit_while_one_is_frozen_in_a_transaction(tmp_path: Path, pg_url: str) -> None:
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    # Many short jobs (about 8 s of work for the four): every runner claims again and again (a job lasts half a
    # second), and commits every few tens of milliseconds. JOBTUI_TEST_FULL=1: 240 jobs of 20 items of 20 ms.
    jobs, n, item_sleep = (240, 20, 0.02) if FULL else (120, 10, 0.05)
    ids = submit(pg_url, jobs, n=n, item_sleep=item_sleep, workers=1)
    runners = [Runner(pg_url, tmp_path / f"r{k}.log", "--concurrency", "2", "--lease-ttl", "60",
                      JOBTUI_TEST_JOURNAL=str(jr), JOBTUI_TEST_STARTS=str(st)) for k in range(4)]
    watch = Watch(pg_url)
    try:
        poll(lambda: {p for p, *_ in starts(st)} >= {r.pid for r in runners}, timeout=60, what="all four runners working")
        frozen = runners[0]
        freeze_inside_a_transaction(frozen.proc, pg_url)
        frozen_at = time.monotonic()
        since_ms, items = _db_ms(pg_url), _done_items(pg_url)
        # Well before the server would end the frozen session (and so release whatever it held), the
        # others have claimed new jobs and committed items.
        deadline = IDLE_IN_TRANSACTION_MS / 1000 - 1.5
        poll(lambda: int(rows(pg_url, f"SELECT count(*) FROM jobs WHERE started_at_ms > {since_ms}")[0][0]) >= 1
             and _done_items(pg_url) >= items + 20, timeout=deadline,
             what="claims and commits of the other runners while one is frozen in its transaction")
        assert time.monotonic() - frozen_at < IDLE_IN_TRANSACTION_MS / 1000, "too late to tell: the server ended the session"
        still = rows(pg_url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                             " AND backend_xid IS NOT NULL AND datname = current_database()")
        assert int(still[0][0]) >= 1, "the frozen runner's transaction was over before the others' work was seen"
        frozen.proc.send_signal(signal.SIGCONT)
        watch.until_all(ids, "completed", timeout=120)
        stop_alive(runners)
    finally:
        for r in runners:
            r.proc.send_signal(signal.SIGCONT)
            r.close()
    check_database(pg_url, ids, n)
    watch.no_committed_work_ran_again(starts(st))
