"""Issue 18, `add` jobs: a job's secret param values are looked for only when a line that could hold one is written
(engine/jobrun.py): walking every job's params cost ~15-40 us per job, and a quiet command logs nothing of its own."""

from __future__ import annotations

from typing import Any

import pytest

import jobtui.engine.jobrun as jobrun
from jobtui.client import Client
from tests.commands.helpers import spec
from tests.conftest import run_idle


async def test_secrets_are_looked_for_only_when_a_line_could_hold_one(client: Client,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[Any] = []
    real = jobrun.secret_values

    def counted(params: Any) -> Any:
        walked.append(params)
        return real(params)

    monkeypatch.setattr(jobrun, "secret_values", counted)
    quiet = [await client.submit("command", {"stages": [spec(["true"])]}) for _ in range(3)]
    loud = await client.submit("command", {"stages": [spec(["sh", "-c", "echo the key is $0; exit 3", "s3cret-value"],
                                                           env={"API_TOKEN": "s3cret-value"})]})
    await run_idle(client)
    for job in quiet:
        assert (await client.job(job)).status.value == "completed"
    assert len(walked) == 1, "only the job that wrote lines of its own had its params looked through"
    lines = [ln.message for ln in await client.logs(loud)]
    assert any("the key is" in ln for ln in lines), lines
    assert not any("s3cret-value" in ln for ln in lines), lines
