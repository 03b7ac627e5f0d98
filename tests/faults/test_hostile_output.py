"""Issue 14: what a command prints cannot break its job, its neighbours, the runner or the database.

Real commands print the hostile output (items 1, 4, 9 and 14 of the issue): a progress number past 64
bits, NUL bytes and invalid UTF-8, a marker nested 100,000 deep, a checkpoint over 128 KiB, output
of bytes that each become three, and a write the database itself refuses (a trigger).
"""

from __future__ import annotations

import signal
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pytest

from jobtui import Context, JobType, Retry, Stage
from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.store import Store
from tests.commands.helpers import output_lines, spec
from tests.conftest import jobtui, make_client, poll, run_idle, spawn_runner, stop_runner

pytestmark = pytest.mark.slow

PY = sys.executable


def runs(path: Path) -> int:
    """Return how many times a command appended its line to `path`."""
    return len(path.read_text().splitlines()) if path.exists() else 0


def counting_checkpoints(tally: Path, n: int = 20) -> str:
    """Return a shell line that counts its runs in `tally` and checkpoints n times, resuming from its state."""
    return (f"echo run >> {tally}; i=${{JOBTUI_STATE:-0}}; while [ $i -lt {n} ]; do i=$((i+1));"
            " echo \"::jobtui checkpoint $i\"; echo \"::jobtui progress $i/20\"; sleep 0.02; done")


async def warnings(client: Client, job: int) -> list[str]:
    return [ln.message for ln in await client.logs(job, limit=10_000) if ln.level == "warning"]


# ------------------------------------------------------------------------------------------ item 1
async def test_a_progress_number_past_64_bits_fails_neither_its_job_nor_its_neighbour(client: Client, tmp_path: Path) -> None:
    """Issue 14, item 1: `::jobtui progress 99999999999999999999/1` failed every group commit it shared, forever."""
    a, b = tmp_path / "a", tmp_path / "b"
    hostile = await client.submit("command", {"stages": [spec(
        f"echo run >> {a}; echo '::jobtui progress 99999999999999999999/1'; echo '::jobtui progress 3/99999999999999999999';"
        " echo '::jobtui progress -1/5'; echo '::jobtui progress 2/4 half'; sleep 0.3")]})
    neighbour = await client.submit("command", {"stages": [spec(counting_checkpoints(b))]})
    await run_idle(client, timeout=20)
    assert (await client.job(hostile)).status is JobStatus.COMPLETED
    assert (await client.job(neighbour)).status is JobStatus.COMPLETED
    assert runs(a) == 1 and runs(b) == 1, "no command ran twice"
    said = await warnings(client, hostile)
    assert sum("bad progress marker" in w for w in said) == 3, said
    assert "progress numbers must be at most 9223372036854775807" in said[0], said


async def test_nul_bytes_invalid_utf8_and_lone_surrogates_are_stored_as_visible_text(client: Client, tmp_path: Path) -> None:
    """Issue 14, item 1: a NUL in output failed the group commit on PostgreSQL; it is stored escaped, everywhere."""
    tally = tmp_path / "tally"
    script = (f"echo run >> {tally}; printf 'a\\000b\\n\\377\\376\\n' ; printf '%s\\n' '::jobtui checkpoint \"\\ud800 \\u0000\"';"
              " printf 'err\\000\\n' >&2; printf '%s\\n' '::jobtui progress 1/2 m\\000n'")
    job = await client.submit("command", {"stages": [spec(["sh", "-c", script])]})
    neighbour = await client.submit("command", {"stages": [spec(counting_checkpoints(tmp_path / "b"))]})
    await run_idle(client, timeout=20)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert (await client.job(neighbour)).status is JobStatus.COMPLETED
    assert await output_lines(client, job) == ["a\\x00b", "\ufffd\ufffd"]
    assert await output_lines(client, job, "stderr") == ["err\\x00"]
    assert runs(tally) == 1


async def test_a_write_the_database_refuses_fails_only_its_own_job_and_only_once(
        client: Client, db_path: Path, tmp_path: Path) -> None:
    """Issue 14, item 1: a refused group commit dropped its neighbours' checkpoints and restarted both jobs in a loop."""
    con = sqlite3.connect(db_path)
    con.execute("CREATE TRIGGER refuse BEFORE INSERT ON logs WHEN NEW.message LIKE '%poison%'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END")
    con.commit()
    con.close()
    go, a = tmp_path / "go", tmp_path / "a"
    # Both print at once (when `go` appears), so that their writes share a group commit.
    hostile = await client.submit("command", {"stages": [spec(
        f"echo run >> {a}; while [ ! -e {go} ]; do sleep 0.01; done; echo poison; sleep 0.5")]})
    neighbours = [await client.submit("command", {"stages": [spec(
        f"touch {go}; " + counting_checkpoints(tmp_path / f"b{i}"))]}) for i in range(3)]
    await run_idle(client, timeout=20)
    for n, job in enumerate(neighbours):
        assert (await client.job(job)).status is JobStatus.COMPLETED
        assert runs(tmp_path / f"b{n}") == 1, "a neighbour's committed checkpoints were dropped and it ran again"
    j = await client.job(hostile)
    assert j.status is JobStatus.FAILED, j.status
    assert "refused by the test trigger" in (j.error_message or ""), j.error_message
    assert runs(a) == 1, "the refused job was restarted"


# ------------------------------------------------------------------------------------------ item 4
DEEP = 'print("::jobtui checkpoint " + "["*100000 + "]"*100000, flush=True)'


async def test_a_marker_nested_100000_deep_is_refused_and_the_timeout_holds(client: Client) -> None:
    """Issue 14, item 4: a RecursionError killed the output reader, the pipe filled, and the job outlived --timeout."""
    script = DEEP + "\nfor _ in range(3000): print('x' * 100)\nimport time; time.sleep(60)"  # sleep: the command lives until it is killed
    job = await client.submit("command", {"stages": [spec([PY, "-c", script], timeout_s=2)]})
    await run_idle(client, timeout=30)
    j = await client.job(job)
    assert j.status is JobStatus.FAILED
    assert "timed out after 2s" in (j.error_message or "")
    said = await warnings(client, job)
    assert any("bad checkpoint marker (nested deeper than 64 levels)" in w for w in said), said
    assert len(await output_lines(client, job)) == 3000, "the reader went on after the bad marker"


async def test_a_bad_marker_does_not_stop_a_command_that_goes_on(client: Client) -> None:
    """Issue 14, item 4: markers with NaN, Infinity, nesting, null, huge numbers: one warning each, the job completes."""
    bad = ["::jobtui checkpoint NaN", "::jobtui checkpoint [Infinity]", '::jobtui checkpoint {"a": -Infinity}',
           "::jobtui checkpoint null", "::jobtui checkpoint " + "[" * 65 + "]" * 65, "::jobtui checkpoint 1" + "0" * 5000,
           "::jobtui progress " + "9" * 5000, "::jobtui progress ٣/٤", "::jobtui nonsense"]
    script = "import sys\nfor line in sys.argv[1:]: print(line)\nprint('::jobtui checkpoint {\"ok\": 1}')\nprint('done')"
    job = await client.submit("command", {"stages": [spec([PY, "-c", script, *bad])]})
    await run_idle(client, timeout=20)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert len(await warnings(client, job)) == len(bad)
    assert await output_lines(client, job) == ["done"]


def test_sigterm_after_a_hostile_marker_stops_the_runner_cleanly(tmp_path: Path) -> None:
    """Issue 14, item 4: SIGTERM then printed 'Event loop is closed' tracebacks."""
    db = tmp_path / "j.db"
    started = tmp_path / "started"
    r = jobtui("add", "--", PY, "-c", f"{DEEP}\nopen({str(started)!r}, 'w').close()\nimport time; time.sleep(60)", db=db)  # sleep: the command lives until it is killed
    assert r.returncode == 0, r.stderr
    runner = spawn_runner(db)
    try:
        poll(started.exists, timeout=30, what="the command got past its marker")
    finally:
        err = stop_runner(runner, signal.SIGTERM, timeout=30)
    assert runner.returncode == 0, err
    assert "Traceback" not in err and "Event loop is closed" not in err, err


# ------------------------------------------------------------------------------------------ item 9
async def test_a_checkpoint_over_128_kib_reaches_the_next_run_through_a_file(client: Client, tmp_path: Path) -> None:
    """Issue 14, item 9: $JOBTUI_STATE over 128 KiB failed every start with E2BIG (also after rewind)."""
    seen = tmp_path / "seen"
    script = (
        "import json, os, sys\n"
        f"seen = {str(seen)!r}\n"
        "state = open(os.environ['JOBTUI_STATE_FILE']).read()\n"
        "if not state:\n"
        "    print('::jobtui checkpoint ' + json.dumps({'blob': 'x' * 300_000}), flush=True)\n"
        "    sys.exit(75)\n"
        "open(seen, 'w').write(str(len(json.loads(state)['blob'])) + ' ' + str('JOBTUI_STATE' in os.environ))\n"
    )
    job = await client.submit("command", {"stages": [spec([PY, "-c", script])]})
    await run_idle(client, timeout=30)
    assert (await client.job(job)).status is JobStatus.COMPLETED, (await client.job(job)).error_message
    assert seen.read_text() == "300000 False", "the second run read the state from the file, not the environment"
    assert not list(client.store.workspace_root.glob("*/.jobtui-state-*")), "state files are removed after each run"


async def test_a_small_state_is_in_both_the_variable_and_the_file(client: Client, tmp_path: Path) -> None:
    """Issue 14, item 9: `$JOBTUI_STATE` keeps working for states that fit."""
    seen = tmp_path / "seen"
    script = (f'if [ -z "$JOBTUI_STATE" ]; then echo \'::jobtui checkpoint {{"i": 7}}\'; exit 75; fi;'
              f' printf "%s|%s" "$JOBTUI_STATE" "$(cat "$JOBTUI_STATE_FILE")" > {seen}')
    job = await client.submit("command", {"stages": [spec(script)]})
    await run_idle(client, timeout=20)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert seen.read_text() == '{"i":7}|{"i":7}'


async def test_a_marker_line_over_1_mib_is_refused_with_one_line_and_not_logged(client: Client) -> None:
    """Issue 14, item 9: an oversized marker is refused in one clear log line (its pieces are not logged as output)."""
    script = ("import json\nprint('::jobtui checkpoint ' + json.dumps('y' * (3 << 20)), flush=True)\n"
              "print('after')")
    job = await client.submit("command", {"stages": [spec([PY, "-c", script])]})
    await run_idle(client, timeout=20)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    said = await warnings(client, job)
    assert len(said) == 1 and "marker line ::jobtui checkpoint over 1 MiB refused" in said[0], said
    assert await output_lines(client, job) == ["after"]


# ------------------------------------------------------------------------------------------ item 14
async def test_the_output_cap_counts_bytes(client: Client, db_path: Path) -> None:
    """Issue 14, item 14: 8 MiB of \\xff stored 25 MB: the cap counted characters, each stored as 3 bytes."""
    script = "import sys\nfor _ in range(100): sys.stdout.buffer.write(b'\\xff' * 99 + b'\\n')"
    job = await client.submit("command", {"stages": [spec([PY, "-c", script])], "output_limit": 3000})
    await run_idle(client, timeout=20)
    stored = sum(len(line.encode()) + 1 for line in await output_lines(client, job))
    assert 0 < stored <= 3000, stored
    said = await warnings(client, job)
    assert any("output cap of 3000 bytes reached" in w for w in said), said


async def test_the_output_cap_holds_across_resume_and_recovery(client: Client) -> None:
    """Issue 14, item 14: the cap started again at every resume or recovery."""
    script = "for i in $(seq 1 10); do echo line-$i-0123456789012345678901234567890123456789; done; exit 1"
    job = await client.submit("command", {"stages": [spec(script)], "output_limit": 1000})
    await run_idle(client, timeout=20)
    first = len(await output_lines(client, job))
    assert first == 10 and (await client.job(job)).status is JobStatus.FAILED
    for _ in range(3):
        await client.resume(job)
        await run_idle(client, timeout=20)
    total = sum(len(line) + 1 for line in await output_lines(client, job))
    assert 900 < total <= 1000, f"{total} bytes logged in 4 runs: every run must count what the runs before it logged"


async def test_a_python_stage_checkpointing_nan_fails_alone_with_a_clear_error(store: Store) -> None:
    """Issue 14, item 1: NaN in a checkpoint is refused where it is made (UnstorableError), not in a shared commit."""
    async def nan(ctx: Context) -> None:
        await ctx.checkpoint({"when": datetime(2026, 1, 1), "ok": 1.5})  # not JSON, stored as its str(), as ever
        await ctx.checkpoint({"loss": float("nan")})

    async def fine(ctx: Context) -> int:
        for i in range(20):
            await ctx.checkpoint(i)
        return 20

    client = make_client(store, JobType("nan", [Stage(nan, retry=Retry(retries=0))]), JobType("fine", [Stage(fine)]))
    bad, good = await client.submit("nan"), await client.submit("fine")
    await run_idle(client, timeout=20)
    j = await client.job(bad)
    assert j.status is JobStatus.FAILED
    assert "UnstorableError" in (j.error_message or "") and "Out of range float" in (j.error_message or ""), j.error_message
    assert (await client.job(good)).status is JobStatus.COMPLETED
