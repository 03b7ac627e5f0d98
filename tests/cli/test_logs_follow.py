"""`jobtui logs --follow` prints a job's last lines even when they commit with its end between two reads."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from jobtui.cli.logs import cmd_logs
from jobtui.client import Client
from jobtui.model import JobStatus
from tests.conftest import run_idle


async def test_follow_prints_the_lines_that_commit_with_the_jobs_end(
        client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The follow loop read the new lines, then the job's status: lines committed in between, together with
    the end, were never printed (the follow stopped at 'no new lines and ended'). Here the whole job runs
    and ends at the loop's first read of the status, the one moment that showed it."""
    job_id = await client.submit("demo", {"delay": 0, "items": 2})
    reads = 0
    job = client.job

    async def job_ending_between_reads(jid: int) -> Any:
        nonlocal reads
        reads += 1
        if reads == 2:  # the first read of the follow loop (the first is the secrets' read, before it)
            await run_idle(client)
        return await job(jid)

    monkeypatch.setattr(client, "job", job_ending_between_reads)
    a = argparse.Namespace(all=False, id=str(job_id), follow=True, lines=200, raw=False, json=False)
    assert await cmd_logs(client, a) == 0
    assert (await job(job_id)).status is JobStatus.COMPLETED
    assert capsys.readouterr().out.rstrip().endswith("job completed")
