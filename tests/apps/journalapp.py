"""A job type for process-level tests: every stage and item execution is appended to a journal file.

Each line is `pid job stage item start_ns end_ns`, written with O_APPEND in one write, so lines
from several processes never interleave. Set JOBTUI_TEST_JOURNAL to the file's path. With
JOBTUI_TEST_STARTS set too, every start is written there at once as `pid job stage item start_ns`
(an execution interrupted before its end shows there only).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from jobtui import Context, JobType, Param, Retry, Stage

FAST = Retry(retries=2, base_s=0.01, cap_s=0.05)


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _note(ctx: Context, item: str, start: int) -> None:
    _append(os.environ["JOBTUI_TEST_JOURNAL"], f"{os.getpid()} {ctx.job_id} {ctx.stage} {item} {start} {time.time_ns()}\n")


def _started(ctx: Context, item: str) -> int:
    start = time.time_ns()
    starts = os.environ.get("JOBTUI_TEST_STARTS")
    if starts:
        _append(starts, f"{os.getpid()} {ctx.job_id} {ctx.stage} {item} {start}\n")
    return start


async def first(ctx: Context) -> int:
    start = _started(ctx, "-")
    await asyncio.sleep(ctx.params["stage_sleep"])
    _note(ctx, "-", start)
    return ctx.params["n"]


async def items(ctx: Context) -> dict[str, Any]:
    async def one(i: int) -> int:
        start = _started(ctx, f"i{i:04d}")
        await asyncio.sleep(ctx.params["item_sleep"])
        _note(ctx, f"i{i:04d}", start)
        return i * i

    async for _ in ctx.items(range(ctx.outputs["first"]), one, key=lambda i: f"i{i:04d}", workers=ctx.params["workers"]):
        pass
    return {"sum": sum((await ctx.results()).values())}


async def last(ctx: Context) -> int:
    start = _started(ctx, "-")
    await asyncio.sleep(ctx.params["stage_sleep"])
    _note(ctx, "-", start)
    return ctx.outputs["items"]["sum"]


journal = JobType(
    "journal",
    [Stage(first, retry=FAST), Stage(items, retry=FAST), Stage(last, retry=FAST)],
    params={
        "n": Param(int, 20),
        "item_sleep": Param(float, 0.005),
        "stage_sleep": Param(float, 0.01),
        "workers": Param(int, 1),
    },
    description="test job that journals every execution",
)
