"""Job types for the unattended-work tests: a one-stage `step` that journals when it ran and can fail on cue.

Each journal line is `job_id start_ns end_ns` (O_APPEND, one write). A `step` with `gate` set fails
permanently while the file `gate` does not exist, so a test decides when a resumed job may pass.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from jobtui import Context, JobType, Param, PermanentError, Retry, Stage


async def work(ctx: Context) -> str:
    start = time.time_ns()
    await ctx.sleep(ctx.params["sleep"])
    gate = ctx.params["gate"]
    if gate and not Path(gate).exists():
        raise PermanentError(f"gate {gate} is closed")
    journal = os.environ.get("JOBTUI_TEST_JOURNAL")
    if journal:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{ctx.job_id} {start} {time.time_ns()}\n".encode())
        finally:
            os.close(fd)
    await asyncio.sleep(0)  # sleep: yield to the event loop once
    return "ok"


step = JobType(
    "step",
    [Stage(work, retry=Retry(retries=0))],
    params={"sleep": Param(float, 0.05), "gate": Param(str, ""), "api_key": Param(str, "")},
    description="test job: sleeps, journals, fails while its gate file is missing",
)
