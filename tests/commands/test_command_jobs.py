"""Command jobs in the engine, with real subprocesses: run, fail, retry, resume, pause, cancel, timeout, caps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.engine.process import boot_id, start_ticks
from jobtui.model import JobStatus, ProcessRecord
from tests.commands.helpers import (
    all_stopped,
    mark,
    output_lines,
    proc_state,
    procs_with,
    running,
    spec,
)
from tests.conftest import run_idle, wait_for

pytestmark = pytest.mark.slow


async def status(client: Client, job_id: int) -> JobStatus:
    return (await client.job(job_id)).status


async def test_a_command_runs_and_its_output_is_logged_by_stream(client: Client) -> None:
    script = "echo out1; echo err1 >&2; echo '::jobtui progress 2/5 half'; echo '::jobtui checkpoint {\"i\": 1}'; echo out2"
    job = await client.submit("command", {"stages": [spec(["sh", "-c", script])]})
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.COMPLETED
    assert await output_lines(client, job) == ["out1", "out2"], "markers are not output"
    assert await output_lines(client, job, "stderr") == ["err1"]
    assert [p.exit_code for p in d.processes] == [0]
    assert d.processes[0].argv == ("sh", "-c", script)


async def test_a_failing_command_fails_its_job_with_exit_code_and_last_stderr(client: Client) -> None:
    job = await client.submit("command", {"stages": [spec("echo first >&2; echo 'it broke' >&2; exit 3")]})
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED
    assert "exit code 3" in (d.job.error_message or "")
    assert "it broke" in (d.job.error_message or "")
    assert d.stages[0].attempts == 1, "a plain non-zero exit is permanent"


async def test_a_command_killed_by_a_signal_says_so(client: Client) -> None:
    job = await client.submit("command", {"stages": [spec("kill -9 $$")]})
    await run_idle(client)
    assert "killed by signal 9 (SIGKILL)" in ((await client.job(job)).error_message or "")


async def test_exit_75_is_transient_and_retried(client: Client, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    script = f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ "$n" -ge 2 ] || exit 75'
    job = await client.submit("command", {"stages": [spec(script)]})
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.COMPLETED
    assert counter.read_text().strip() == "3"
    assert d.stages[0].attempts == 3


async def test_retries_retry_any_failure_up_to_n(client: Client, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    script = f'echo x >> {counter}; exit 1'
    job = await client.submit("command", {"stages": [spec(script, retries=2)]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.FAILED
    assert len(counter.read_text().split()) == 3


async def test_pipeline_fails_at_a_stage_resumes_there_and_rewinds(client: Client, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    flag = tmp_path / "ok"
    stages = [
        spec(f"echo a >> {journal}", name="a"),
        spec(f"echo b >> {journal}; [ -e {flag} ]", name="b"),
        spec(f"echo c >> {journal}", name="c"),
    ]
    job = await client.submit("pipeline", {"stages": stages})
    await run_idle(client)
    j = await client.job(job)
    assert j.status is JobStatus.FAILED and j.failed_step == "b"
    assert journal.read_text().split() == ["a", "b"]

    flag.touch()
    await client.resume(job)
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert journal.read_text().split() == ["a", "b", "b", "c"], "a completed stage never runs again"

    await client.rewind(job, "b")
    await run_idle(client)
    assert journal.read_text().split() == ["a", "b", "b", "c", "b", "c"]


async def test_bad_stage_specs_are_refused_at_submission(client: Client) -> None:
    from jobtui.errors import UsageError

    for stages in ([], [{"name": "x"}], [spec([])], [spec("x", pause="never")], [spec("a"), spec("b", name="run")],
                   [spec("x", timeout_s=-1)]):
        with pytest.raises(UsageError):
            await client.submit("pipeline", {"stages": stages})
    with pytest.raises(UsageError, match="placeholder"):
        await client.submit("foreach", {"stages": [spec(["echo", "{nope}"], items=["a"])]})
    assert await client.job_ids() == set()


async def test_pause_freezes_the_command_and_resume_continues_it(client: Client, tmp_path: Path) -> None:
    m = mark()
    out = tmp_path / "ticks"
    script = f"echo start $$ >> {out}; i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo tick $i >> {out}; sleep 0.02; done"
    job = await client.submit("command", {"stages": [spec(script, env={"TESTMARK": m})]})
    async with running(client) as runner:
        await wait_for(lambda: out.exists() and len(out.read_text().split("\n")) > 5)
        pid = int(out.read_text().split()[1])
        await client.pause(job)
        await wait_for(lambda: status(client, job), timeout=10)
        await wait_for(lambda: _is(client, job, JobStatus.PAUSED), timeout=10)
        d = await client.detail(job)
        assert d.frozen and d.job.held, "paused, with its process frozen and held by the runner"
        assert job in runner.held and job not in runner.runs, "a frozen job takes no slot"
        # Every process of the command is stopped (SIGSTOP: state T), so it does nothing; a `sleep` child
        # that was running then ends and stays a zombie under its stopped shell.
        await wait_for(lambda: all_stopped(procs_with(m)), timeout=30,
                       what="every process of the command stopped")
        assert proc_state(pid) in ("T", "D"), "stopped (or in vfork, waiting on its stopped child: all_stopped)"
        await client.resume(job)
        await wait_for(lambda: _is(client, job, JobStatus.COMPLETED), timeout=30)
    lines = out.read_text().split("\n")
    assert sum(1 for ln in lines if ln.startswith("start")) == 1, "the command did not restart"
    assert [ln for ln in lines if ln.startswith("tick")] == [f"tick {i}" for i in range(1, 401)]
    d = await client.detail(job)
    assert not d.frozen and d.job.resume_count == 1
    assert procs_with(m) == []


async def _is(client: Client, job: int, want: JobStatus) -> bool:
    return (await client.job(job)).status is want


async def test_pause_restart_ends_the_command_and_reruns_it_from_its_checkpoint(client: Client, tmp_path: Path) -> None:
    m = mark()
    out = tmp_path / "out"
    script = (f'i=${{JOBTUI_STATE:-0}}; echo "start $i" >> {out}; while [ $i -lt 300 ]; do i=$((i+1));'
              f' echo "::jobtui checkpoint $i"; sleep 0.01; done; echo "end $i" >> {out}')
    job = await client.submit("command", {"stages": [spec(script, pause="restart", env={"TESTMARK": m})]})
    async with running(client):
        await wait_for(lambda: out.exists())

        async def checkpointed() -> bool:
            return (await client.detail(job)).stages[0].checkpoint_at_ms is not None

        await wait_for(checkpointed, what="a committed checkpoint to rerun from")
        await client.pause(job)
        await wait_for(lambda: _is(client, job, JobStatus.PAUSED), timeout=10)
        assert procs_with(m) == [], "restart mode ends the process group on pause"
        assert not (await client.detail(job)).job.held
        await client.resume(job)
        await wait_for(lambda: _is(client, job, JobStatus.COMPLETED), timeout=30)
    starts = [int(ln.split()[1]) for ln in out.read_text().splitlines() if ln.startswith("start")]
    assert len(starts) == 2 and starts[0] == 0 and starts[1] > 0, "rerun from its last checkpoint"
    assert out.read_text().splitlines()[-1] == "end 300"


async def test_cancel_of_a_running_or_frozen_command_leaves_no_process(client: Client, tmp_path: Path) -> None:
    m = mark()
    # A grandchild in the background and one in the foreground: the whole group must go.
    script = "sleep 60 & sleep 60; echo never"
    a = await client.submit("command", {"stages": [spec(script, env={"TESTMARK": m}, kill_grace_s=1)]})
    b = await client.submit("command", {"stages": [spec(script, env={"TESTMARK": m}, kill_grace_s=1)]})
    async with running(client):
        await wait_for(lambda: len(procs_with(m)) >= 6, timeout=15)
        await client.pause(b)
        await wait_for(lambda: _is(client, b, JobStatus.PAUSED), timeout=10)
        await client.cancel(a)
        await client.cancel(b)
        await wait_for(lambda: _is(client, a, JobStatus.CANCELLED), timeout=10)
        await wait_for(lambda: not procs_with(m), timeout=10)
    assert (await client.job(b)).status is JobStatus.CANCELLED
    assert not (await client.job(b)).held


async def test_timeout_ends_the_whole_group(client: Client) -> None:
    m = mark()
    job = await client.submit("command", {"stages": [spec("sleep 60 & sleep 60", env={"TESTMARK": m},
                                                           timeout_s=0.5, kill_grace_s=1)]})
    async with running(client):
        await wait_for(lambda: _is(client, job, JobStatus.FAILED), timeout=20)
    assert "timed out after 0.5s" in ((await client.job(job)).error_message or "")
    assert procs_with(m) == []


async def test_runner_shutdown_ends_running_and_frozen_commands_and_hands_jobs_back(client: Client, tmp_path: Path) -> None:
    m = mark()
    out = tmp_path / "out"
    script = f"echo start >> {out}; sleep 60"
    a = await client.submit("command", {"stages": [spec(script, env={"TESTMARK": m}, kill_grace_s=1)]})
    b = await client.submit("command", {"stages": [spec(script, env={"TESTMARK": m}, kill_grace_s=1)]})
    async with running(client, grace_s=5) as runner:
        await wait_for(lambda: len(procs_with(m)) >= 4, timeout=15)
        await client.pause(b)
        await wait_for(lambda: _is(client, b, JobStatus.PAUSED), timeout=10)
        runner.stop()
    assert procs_with(m) == []
    ja, jb = await client.job(a), await client.job(b)
    assert ja.status is JobStatus.QUEUED and ja.lease_owner is None
    assert jb.status is JobStatus.PAUSED and not jb.held, "the runner let go of the frozen job"
    await client.resume(b)
    async with running(client):
        await wait_for(lambda: out.exists() and out.read_text().count("start") >= 4, timeout=15)
    left = procs_with(m)
    assert left == [], [(Path(f"/proc/{p}/cmdline").read_bytes(), proc_state(p)) for p in left]


async def test_output_cap_holds_and_says_how_much_was_dropped(client: Client) -> None:
    script = "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"
    job = await client.submit("command", {"stages": [spec(script)], "output_limit": 10_000})
    await run_idle(client)
    lines = await output_lines(client, job)
    assert 0 < sum(len(x) + 1 for x in lines) <= 10_000
    notes = [ln.message for ln in await client.logs(job) if "output cap" in ln.message]
    assert notes and f"dropped {2000 - len(lines)} line(s)" in notes[0]


async def test_progress_markers_and_progress_bars_become_progress(client: Client, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = (f"printf ' 40%%|####      | 4/10 [00:01<00:02]\\r'; echo '::jobtui progress 7/10 seven';"
              f" while [ ! -e {gate} ]; do sleep 0.02; done")
    job = await client.submit("command", {"stages": [spec(script)]})
    async with running(client):
        await wait_for(lambda: _progress(client, job, 7), timeout=10)
        j = await client.job(job)
        assert j.progress_total == 10 and j.progress_message == "seven"
        gate.touch()
        await wait_for(lambda: _is(client, job, JobStatus.COMPLETED), timeout=10)
    assert await output_lines(client, job) == [], "a \\r-rewritten bar is progress, not output"


async def _progress(client: Client, job: int, done: int) -> bool:
    return (await client.job(job)).progress_done == done


async def test_a_leftover_group_of_a_dead_runner_is_ended_before_the_stage_runs_again(client: Client, tmp_path: Path) -> None:
    m = mark()
    out = tmp_path / "out"
    # A group as a dead runner would leave it: its leader gone, a member still running.
    leftover = subprocess.Popen(["sh", "-c", "sleep 60 & exit 0"], start_new_session=True,
                                env={**os.environ, "TESTMARK": m})
    leftover.wait()
    await wait_for(lambda: len(procs_with(m)) == 1)
    job = await client.submit("command", {"stages": [spec(f"echo ran >> {out}")]})
    await client.store.process_started(ProcessRecord(job, 0, "", leftover.pid, leftover.pid, _ticks_before(),
                                                     boot_id(), "dead-runner", ("sh",), None, 0))
    await run_idle(client)
    assert procs_with(m) == [], "the member of the recorded group was ended"
    assert out.read_text() == "ran\n"
    assert any("left by runner dead-runner" in ln.message for ln in await client.logs(job))


def _ticks_before() -> int:
    ticks = start_ticks(os.getpid())
    assert ticks is not None
    return ticks


async def test_an_unrelated_process_with_a_recorded_pid_is_never_touched(client: Client) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],  # sleep: a process that lives until the test kills it
                             start_new_session=True)
    try:
        job = await client.submit("command", {"stages": [spec("true")]})
        ticks = start_ticks(other.pid)
        assert ticks is not None
        # Same pid and group, but a different start time: a reused pid, not ours.
        await client.store.process_started(ProcessRecord(job, 0, "", other.pid, other.pid, ticks + 1, boot_id(),
                                                         "dead-runner", ("x",), None, 0))
        await run_idle(client)
        assert other.poll() is None
        assert (await client.job(job)).status is JobStatus.COMPLETED
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()


async def test_foreach_names_are_single_arguments_never_shell(client: Client, tmp_path: Path) -> None:
    names = ["a; touch pwned1", "$(touch pwned2)", "`touch pwned3`", "b c.txt", "-n", "x'y\"z"]
    job = await client.submit("foreach", {"stages": [spec(["printf", "%s|%s|%s|%s\\n", "{}", "{stem}", "{ext}", "{index}"],
                                                          name="each", items=names, cwd=str(tmp_path))]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert sorted(await output_lines(client, job)) == sorted(
        f"{n}|{Path(n).stem}|{Path(n).suffix}|{i}" for i, n in enumerate(names))
    assert not list(tmp_path.glob("pwned*"))


async def test_foreach_failing_items_auto_pause_with_the_reason(client: Client) -> None:
    job = await client.submit("foreach", {"stages": [spec(["sh", "-c", "echo no $1 >&2; exit 4", "sh", "{}"],
                                                          name="each", items=[f"i{n}" for n in range(8)])]})
    await run_idle(client)
    j = await client.job(job)
    assert j.status is JobStatus.PAUSED
    assert "auto-paused after 5 consecutive item failures" in (j.pause_reason or "")
    rows = [r async for r in client.export(job)]
    assert len(rows) == 5 and all(r.result["exit_code"] == 4 for r in rows)
    assert rows[0].result["output"] == [f"no {rows[0].key}"]


async def test_state_env_and_checkpoint_marker_reach_the_next_attempt(client: Client, tmp_path: Path) -> None:
    out = tmp_path / "env"
    script = (f'echo "$JOBTUI_JOB_ID $JOBTUI_STAGE $JOBTUI_ATTEMPT [$JOBTUI_STATE] $JOBTUI_IDEMPOTENCY_KEY" >> {out};'
              f' [ -d "$JOBTUI_WORKSPACE" ] || exit 9;'
              f' if [ -z "$JOBTUI_STATE" ]; then echo \'::jobtui checkpoint {{"at": 5}}\'; exit 75; fi')
    job = await client.submit("command", {"stages": [spec(script, name="step")]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    first, second = out.read_text().splitlines()
    assert first == f"{job} step 1 [] jobtui-{job}-step-g0"
    assert second.split()[2:4] == ["2", "[{\"at\":5}]"]


async def test_foreach_items_retry_any_failure_by_default(client: Client, tmp_path: Path) -> None:
    """Issue 7: per-item retries default to 3 for every failure, not only exit 75 (a flaky file needs no person)."""
    script = f'if [ -e "{tmp_path}/seen-$1" ]; then echo ok $1; else touch "{tmp_path}/seen-$1"; exit 4; fi'
    job = await client.submit("foreach", {"stages": [spec(["sh", "-c", script, "sh", "{}"], name="each",
                                                          items=["a", "b", "c"])]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    rows = [r async for r in client.export(job)]
    assert sorted(r.key for r in rows) == ["a", "b", "c"]
    assert all(r.status.value == "done" and r.attempts == 2 for r in rows)
