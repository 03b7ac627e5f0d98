"""The job type of the page's memory benchmark (`bench/bench_web_memory.py`), loaded with `--app webmem_app`.

* `ticker`: one stage that reports its progress every `every` seconds for `seconds` seconds (no items, no output):
  a long running job whose only effect is a steady stream of progress updates, as a page watching it sees them.
"""

from __future__ import annotations

from typing import Any

from jobtui import Context, JobType, Param, Stage


async def _tick(ctx: Context) -> dict[str, Any]:
    every, seconds = ctx.params["every"], ctx.params["seconds"]
    steps = max(1, int(seconds / every))
    for i in range(steps):
        ctx.progress(i + 1, steps, f"tick {i + 1}/{steps}")
        await ctx.sleep(every)  # the job's work is the passing of time (pause and cancel land here)
    return {"ticks": steps}


TICKER = JobType(
    "ticker", [Stage(_tick, "ticking")], description="benchmark: progress every `every` s for `seconds` s",
    params={"seconds": Param(float, 60.0, "how long the job runs", min=0),
            "every": Param(float, 1.0, "seconds between progress updates", min=0.01)},
)
JOB_TYPES = [TICKER]
