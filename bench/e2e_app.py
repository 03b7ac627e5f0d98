"""Job types of the end-to-end benchmark (`bench/bench_e2e.py`), loaded with `--app e2e_app`.

* `e2e_stages`: eight stages named like the demo's, each returning a small dict (the demo's
  `_simple` with `delay=0`, without the demo's failure switches): per-stage overhead only.
* `e2e_items`: one stage that runs `n` trivial items through `ctx.items`: per-item overhead only.
"""

from __future__ import annotations

from typing import Any

from jobtui import Context, JobType, Param, Stage

STAGE_NAMES = (
    "scraping", "downloading", "uploading", "extracting", "saving_extraction", "creating_embeddings",
    "saving_embeddings", "generating_snapshot",
)


async def _stage(ctx: Context) -> dict[str, Any]:
    return {"stage": ctx.stage, "job": ctx.job_id}


async def _item(i: int) -> dict[str, int]:
    return {"i": i, "ok": 1}


async def _items(ctx: Context) -> dict[str, Any]:
    count = 0
    async for _ in ctx.items(range(ctx.params["n"]), _item):
        count += 1
    return {"items": count}


E2E_STAGES = JobType(
    "e2e_stages", [Stage(_stage, name) for name in STAGE_NAMES], description="benchmark: eight trivial stages"
)
E2E_ITEMS = JobType(
    "e2e_items", [Stage(_items, "items")], params={"n": Param(int, 1000, "items to run", min=0)},
    description="benchmark: one stage of N trivial items",
)
JOB_TYPES = [E2E_STAGES, E2E_ITEMS]
