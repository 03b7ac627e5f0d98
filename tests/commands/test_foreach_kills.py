"""Issue 18's guarantee: a foreach SIGKILLed again and again runs every command to completion once, or kills and reruns it.

A `foreach` of N items, 8 workers, its runner SIGKILLed K times mid-run and relaunched each time (real CLI,
real processes), then run to the end. Each command writes its own journal: a start line, then (from a
background child of its shell, so that a copy outliving its runner would show) an end line. After the last
run: every item done and recorded once, every item's runs one after another (never two copies at once), a
run without its end line was killed and ran again, no item whose end was committed at a kill ran after it,
no process of the job left, no process row left alive.

N is 200 here and K 8 (400 and 20 with JOBTUI_TEST_FULL=1, tests/sizing.py; JOBTUI_KILL_ITEMS and JOBTUI_KILLS
set them); the issue's full size runs with `JOBTUI_KILL_ITEMS=10000 pytest tests/commands/test_foreach_kills.py`.
"""

from __future__ import annotations

import collections
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.commands.helpers import mark, procs_with
from tests.conftest import cli_show, jobtui, poll, spawn_runner, stop_runner
from tests.sizing import sized

ITEMS = sized(200, 400, "JOBTUI_KILL_ITEMS")
KILLS = sized(8, 20, "JOBTUI_KILLS")
WORKERS = 8

pytestmark = pytest.mark.slow

# $1 item, $2 journal, $3 index. The run's id is the shell's pid and the stage attempt (a pid alone may be
# reused over 10,000 runs). The end line comes from a background subshell: were the group left alive by a
# killed runner, it would write its end after the next copy started. Every 40th item takes a second.
ITEM = ('r="$$.$JOBTUI_ATTEMPT"; echo "s $1 $r" >> "$2";'
        ' ( [ $(($3 % 40)) -eq 0 ] && sleep 1; echo "e $1 $r" >> "$2" ) & wait')


def _ends(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b"\ne ") + journal.read_bytes().startswith(b"e ")
    except FileNotFoundError:
        return 0


def _done(db: Path) -> set[str]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return {k for (k,) in con.execute("SELECT key FROM items WHERE status = 'done'")}
    finally:
        con.close()


def _runs(lines: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Return each item's journal lines in order, as (kind, run)."""
    by_item: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for ln in lines:
        kind, item, run = ln.split()
        by_item[item].append((kind, run))
    return by_item


def _check_runs(by_item: dict[str, list[tuple[str, str]]]) -> int:
    """Check every item's runs; return how many runs were killed (and ran again)."""
    killed = 0
    for item, seq in by_item.items():
        runs: list[str] = []
        for kind, run in seq:
            if kind == "s":
                assert run not in runs, f"{item}: run {run} started twice"
                runs.append(run)
            else:
                assert runs and runs[-1] == run, f"{item}: run {run} wrote its end after a later copy started: {seq}"
        ended = {run for kind, run in seq if kind == "e"}
        assert runs[-1] in ended, f"{item}: its last run never ended: {seq}"
        assert all(seq.count(("e", r)) <= 1 for r in runs), f"{item}: a run ended twice: {seq}"
        killed += sum(1 for r in runs if r not in ended)
    return killed


@pytest.mark.timeout(max(240, ITEMS // 20 + KILLS * 10))
def test_sigkilled_foreach_runs_each_command_once_or_kills_and_reruns_it(tmp_path: Path) -> None:
    db = tmp_path / "kills.db"
    journal = tmp_path / "journal"
    items = tmp_path / "items.txt"
    items.write_text("".join(f"i{n}\n" for n in range(ITEMS)))
    m = mark()
    add = jobtui("foreach", "--lines", str(items), "--workers", str(WORKERS), "--env", f"TESTMARK={m}", "--",
                 "sh", "-c", ITEM, "sh", "{}", str(journal), "{index}", db=db)
    assert add.returncode == 0, add.stderr
    job = int(add.stdout)
    kills: list[tuple[int, set[str]]] = []
    """(journal bytes, items done) at each kill."""
    step = max(1, ITEMS // (KILLS + 2))
    for k in range(KILLS):
        runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
        try:
            want = min(ITEMS - 1, (k + 1) * step)
            poll(lambda: _ends(journal) >= want or runner.poll() is not None, timeout=120,  # noqa: B023
                 what=f"{want} commands ended before kill {k + 1}")
            assert runner.poll() is None, f"the runner exited before kill {k + 1}: {runner.stderr}"
        finally:
            stop_runner(runner, signal.SIGKILL, timeout=30)
        kills.append((journal.stat().st_size, _done(db)))
    last = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1")
    _out, err = last.communicate(timeout=600)
    assert last.returncode == 0, err

    assert cli_show(db, job)["status"] == "completed"
    assert _done(db) == {f"i{n}" for n in range(ITEMS)}, "no item lost"
    text = journal.read_text()
    by_item = _runs(text.splitlines())
    assert set(by_item) == {f"i{n}" for n in range(ITEMS)}
    killed = _check_runs(by_item)
    assert killed > 0, "some kill landed while commands ran"
    for at, done in kills:
        later = {ln.split()[1] for ln in text[at:].splitlines() if ln.startswith("s ")}
        again = sorted(later & done)
        assert not again, f"items whose end was committed before a kill ran again after it: {again[:5]}"
    assert procs_with(m) == [], "no process of the job outlives it"
    con = sqlite3.connect(db)
    try:
        alive = con.execute("SELECT slot, pid, token FROM processes WHERE ended_at_ms IS NULL").fetchall()
    finally:
        con.close()
    assert alive == [], "every process row of the job is closed"
