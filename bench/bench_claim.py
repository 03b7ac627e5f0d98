"""Claim cost as the queue grows: claims/s and jobs/s with 1,000 vs 50,000 queued jobs.

    python bench/bench_claim.py               # 5 runs, 1k and 50k queued
    python bench/bench_claim.py --runs 3 --sizes 1000,10000,50000

Each run uses a fresh SQLite file (synchronous=FULL, as the product) with N queued jobs of a
one-stage no-op type. Two measurements per run:
  claim   `store.claim(runner, 1, types)` called 300 times in a row (each its own BEGIN IMMEDIATE
          transaction, as the runner does); claims/s = 300 / time.
  jobs    a Runner(concurrency=8) runs until 1,000 jobs have completed (counted through on_event),
          then is stopped; jobs/s = 1000 / time to the 1,000th completion.
  old     the claim statement before issue 6 (an OR on status), run the same way: the same-run baseline.
Reported: the median over runs of each, per queue size; the ratio of the biggest size to the
smallest is the figure that should stay near 1 (flat). The sizes are interleaved run by run so
machine noise hits them alike. Results also go to bench/results/claim-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobtui import Context, JobType, Runner, Stage
from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.engine import Registry
from jobtui.store import Store

HERE = Path(__file__).resolve().parent
CLAIMS = 300
JOBS = 1000


async def _noop(ctx: Context) -> None:
    return None


NOOP = JobType("bench_noop", [Stage(_noop, "noop")], description="benchmark: does nothing")


def _registry() -> Registry:
    reg = default_registry()
    reg.add(NOOP)
    return reg


async def _fill(path: Path, queued: int) -> None:
    store = await Store.open(path)
    try:
        client = Client(store, _registry(), source="bench")
        step = 10_000
        for start in range(0, queued, step):
            await client.submit_many([Submission("bench_noop", {}) for _ in range(min(step, queued - start))])
    finally:
        await store.close()


async def _claims(path: Path) -> float:
    store = await Store.open(path)
    try:
        t0 = time.perf_counter()
        for _ in range(CLAIMS):
            got = await store.claim("bench-runner", 1, ["bench_noop"])
            if len(got) != 1:
                raise RuntimeError("claim returned nothing")
        return CLAIMS / (time.perf_counter() - t0)
    finally:
        await store.close()


OLD_CLAIM = (
    "UPDATE jobs SET status = 'running', lease_owner = $1, started_at_ms = coalesce(started_at_ms, $2),"
    " updated_at_ms = $3, next_retry_at_ms = NULL, paused_at_ms = NULL"
    " WHERE job_id IN (SELECT job_id FROM jobs WHERE type IN (SELECT value FROM json_each($4)) AND ("
    "   (status = 'queued' AND (run_at_ms IS NULL OR run_at_ms <= $5))"
    "   OR (status = 'waiting_retry' AND next_retry_at_ms <= $6))"
    "  ORDER BY priority DESC, created_at_ms, job_id LIMIT $7) RETURNING job_id"
)
"""The claim before issue 6 (an OR on status): the same-run baseline."""


async def _claims_old(path: Path) -> float:
    store = await Store.open(path)
    try:
        t0 = time.perf_counter()
        for _ in range(CLAIMS):
            now = store.clock()
            async with store._tx() as db:
                rows = list(await db.execute_fetchall(OLD_CLAIM, ("bench-runner", now, now, '["bench_noop"]', now, now, 1)))
            if len(rows) != 1:
                raise RuntimeError("old claim returned nothing")
        return CLAIMS / (time.perf_counter() - t0)
    finally:
        await store.close()


async def _jobs(path: Path) -> float:
    store = await Store.open(path)
    try:
        done: list[float] = []
        runner: Runner | None = None

        def on_event(kind: str, _job_id: Any) -> None:
            if kind == "completed":
                done.append(time.perf_counter())
                if len(done) == JOBS and runner is not None:
                    runner.stop()

        runner = Runner(store, _registry(), concurrency=8, on_event=on_event)
        t0 = time.perf_counter()
        await asyncio.wait_for(runner.run(), 600)
        if len(done) < JOBS:
            raise RuntimeError(f"only {len(done)} jobs completed")
        return JOBS / (done[JOBS - 1] - t0)
    finally:
        await store.close()


async def _one(queued: int) -> tuple[float, float, float]:
    folder = Path(tempfile.mkdtemp(prefix="jobtui-bench-claim-"))
    try:
        await _fill(folder / "a.db", queued)
        shutil.copy(folder / "a.db", folder / "b.db")
        shutil.copy(folder / "a.db", folder / "c.db")
        return await _claims(folder / "a.db"), await _jobs(folder / "b.db"), await _claims_old(folder / "c.db")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="1000,50000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    claims: dict[int, list[float]] = {n: [] for n in sizes}
    jobs: dict[int, list[float]] = {n: [] for n in sizes}
    old: dict[int, list[float]] = {n: [] for n in sizes}
    for run in range(args.runs):
        for n in sizes:
            c, j, o = asyncio.run(_one(n))
            claims[n].append(c)
            jobs[n].append(j)
            old[n].append(o)
            print(f"run {run + 1}/{args.runs}  queued {n:>6}: {c:8.0f} claims/s  {j:6.0f} jobs/s"
                  f"  (old OR claim: {o:6.0f} claims/s)", flush=True)
    print()
    print(f"{'queued':>8}  {'claims/s (median)':>18}  {'jobs/s (median)':>16}  {'old OR claim, claims/s':>23}")
    out: dict[str, Any] = {"runs": args.runs, "claims_per_s": {}, "jobs_per_s": {}, "old_claims_per_s": {}}
    for n in sizes:
        mc, mj, mo = statistics.median(claims[n]), statistics.median(jobs[n]), statistics.median(old[n])
        out["claims_per_s"][n], out["jobs_per_s"][n], out["old_claims_per_s"][n] = mc, mj, mo
        print(f"{n:>8}  {mc:>18.0f}  {mj:>16.0f}  {mo:>23.0f}")
    lo, hi = sizes[0], sizes[-1]
    print(f"\n{hi} vs {lo} queued: claims/s x{statistics.median(claims[hi]) / statistics.median(claims[lo]):.2f},"
          f" jobs/s x{statistics.median(jobs[hi]) / statistics.median(jobs[lo]):.2f} (1.00 = flat)")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"claim-{stamp}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
