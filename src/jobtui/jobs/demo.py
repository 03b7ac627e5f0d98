"""The built-in `demo` job type: the eight-step project pipeline, with failures on demand.

It does no network I/O. Its params make every feature visible in seconds: `delay` per stage,
`items` in the item stages, a stage whose first `fail_times` runs fail (`fail_kind` transient or
permanent; runs are counted across retries and resumes, so a resume after them completes), and
`fail_items` consecutive items that fail until the job is resumed.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from jobtui import Context, JobType, Param, PermanentError, Retry, Stage, TransientError

STAGES = (
    "scraping", "downloading", "uploading", "extracting", "saving_extraction", "creating_embeddings",
    "saving_embeddings", "generating_snapshot",
)
ITEM_STAGES = ("downloading", "extracting", "creating_embeddings")
FAST = Retry(retries=3, base_s=0.2, cap_s=2.0)
"""The demo retries quickly so that a retry is seen in seconds, not minutes."""


def _maybe_fail(ctx: Context) -> None:
    """Fail the first `fail_times` runs of `fail_stage` (ctx.attempt is the stage's run number, across resumes)."""
    p = ctx.params
    if p["fail_stage"] == ctx.stage and ctx.attempt <= p["fail_times"]:
        error = TransientError if p["fail_kind"] == "transient" else PermanentError
        raise error(f"demo failure {ctx.attempt}/{p['fail_times']} in {ctx.stage}")


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


async def _wait(ctx: Context, seconds: float) -> None:
    """Sleep `seconds` in a few steps, reporting progress and honouring pause at each."""
    if seconds <= 0:
        return
    steps = max(1, min(10, int(seconds / 0.1)))
    for i in range(steps):
        await ctx.sleep(seconds / steps)
        ctx.progress(i + 1, steps, f"{ctx.stage} {i + 1}/{steps}")


async def _simple(ctx: Context) -> dict[str, Any]:
    _maybe_fail(ctx)
    if ctx.stage == "scraping" and ctx.params["api_token"]:
        ctx.log(f"scraping with token {ctx.params['api_token']}")
    await _wait(ctx, ctx.params["delay"])
    return {"stage": ctx.stage, "digest": _digest(ctx.params["seed"], ctx.job_id, ctx.stage)}


async def _item_stage(ctx: Context) -> dict[str, Any]:
    _maybe_fail(ctx)
    p = ctx.params
    n = p["items"]
    if n <= 0:
        return {"stage": ctx.stage, "items": 0}
    per_item = p["delay"] / n
    first_bad = n // 3
    bad = range(first_bad, first_bad + p["fail_items"]) if ctx.stage == "downloading" else range(0)
    rng = random.Random(f"{p['seed']}-{ctx.job_id}-{ctx.stage}")
    sizes = [rng.randint(1_000, 5_000_000) for _ in range(n)]

    async def work(i: int) -> dict[str, Any]:
        if per_item > 0:
            await ctx.sleep(per_item)
        if i in bad and ctx.resume_count == 0:
            error = TransientError if p["fail_kind"] == "transient" else PermanentError
            raise error(f"demo item {i} failed")
        return {"bytes": sizes[i], "sha": _digest(p["seed"], ctx.job_id, ctx.stage, i)}

    async for _ in ctx.items(range(n), work, key=lambda i: f"{ctx.stage[:4]}-{i:05d}"):
        pass
    results = await ctx.results()
    return {"stage": ctx.stage, "items": n, "done": len(results), "bytes": sum(r["bytes"] for r in results.values())}


async def _snapshot(ctx: Context) -> dict[str, Any]:
    _maybe_fail(ctx)
    await _wait(ctx, ctx.params["delay"])
    summary = {name: ctx.outputs.get(name) for name in STAGES[:-1]}
    if ctx.params["items"] > 0:
        path = ctx.workspace / "snapshot.json"
        path.write_text(json.dumps(summary, indent=1))
        record = await ctx.track(path)
        ctx.log(f"snapshot written to {record.path} ({record.size} bytes, sha256 {record.sha256[:12]})")
    return {"stage": ctx.stage, "digest": _digest(summary)}


demo = JobType(
    "demo",
    [Stage(_item_stage if name in ITEM_STAGES else _snapshot if name == STAGES[-1] else _simple, name, FAST)
     for name in STAGES],
    params={
        "delay": Param(float, 1.0, "seconds per stage", min=0),
        "items": Param(int, 20, "items in each item stage", min=0),
        "fail_stage": Param(str, "", "a stage whose first runs fail", choices=("", *STAGES)),
        "fail_times": Param(int, 1, "how many runs of fail_stage fail", min=0),
        "fail_kind": Param(str, "transient", "transient (retried) or permanent", choices=("transient", "permanent")),
        "fail_items": Param(int, 0, "consecutive items of downloading that fail until resumed", min=0),
        "seed": Param(int, 0, "seed for sizes and digests"),
        "api_token": Param(str, "", "a pretend secret: shows that secrets are redacted everywhere"),
    },
    description="The eight-step project pipeline, with failures on demand (no network I/O)",
    item_retry=Retry(retries=1, base_s=0.05, cap_s=0.2),
    timeout_s=3600,  # a demo run takes minutes; an hour means something is stuck
)
