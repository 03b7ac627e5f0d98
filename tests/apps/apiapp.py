"""Job types for the HTTP API tests: seed 003's `analyze` (an uploaded file, one item per line, a tracked report)."""

from __future__ import annotations

import asyncio
from typing import Any

from jobtui import Context, JobType, Param


async def count(ctx: Context) -> dict[str, Any]:
    text = (ctx.workspace / ctx.params["file"]).read_text()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    delay = ctx.params["delay"]
    ctx.log(f"analysing {len(lines)} lines with key {ctx.params['api_key']}")

    async def one(line: str) -> dict[str, Any]:
        if delay:
            await asyncio.sleep(delay)  # sleep: the work an item stands for (pause and cancel land between items)
        return {"words": len(line.split()), "secret_echo": ctx.params["api_key"]}

    done = 0
    async for _ in ctx.items(lines, one, key=lambda ln: ln.split()[0]):
        done += 1
    return {"lines": len(lines)}


async def report(ctx: Context) -> dict[str, Any]:
    results = await ctx.results("count")
    path = ctx.workspace / "report.txt"
    path.write_text("".join(f"{k} {v['words']}\n" for k, v in sorted(results.items())))
    await ctx.track(path)
    return {"report": "report.txt"}


analyze = JobType(
    "analyze", [count, report], description="count the words of each line of an uploaded file",
    params={"file": Param(str, help="the uploaded file (relative to the workspace)"),
            "delay": Param(float, 0.0, help="seconds per line"), "api_key": Param(str, "sk-default-7f3a", help="a secret")},
)
