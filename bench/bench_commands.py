"""Command jobs: the runner's overhead per command and per foreach item, against a plain asyncio loop.

    python bench/bench_commands.py            # 3 runs of each, 1,000 commands
    python bench/bench_commands.py --runs 5 --count 2000

Every figure is the median of N runs, interleaved (run 1 of each measurement, then run 2, ...) so
that noise on a shared machine hits jobtui and its baseline alike; each jobtui run uses a fresh
SQLite file (synchronous=FULL, as shipped).

  jobs      `count` jobs of type `command` running `true`, queued at once, then one
            Runner(concurrency=8).run(exit_when_idle=True): jobs/s from runner start to its return.
  foreach   one `foreach` job over `count` items running `true` with --workers 8: items/s over the
            runner's run.
  baseline  a plain asyncio loop: `count` times `create_subprocess_exec("true")` with stdout/stderr
            piped and read to EOF, at most 8 at once (a semaphore), in the same process: commands/s.

Per-command overhead = 1/jobs_per_s - 1/baseline_per_s (and the same for foreach items).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.engine import Runner
from jobtui.store import Store

TRUE = shutil.which("true") or "/bin/true"
WORKERS = 8


async def bench_jobs(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "b.db")
        client = Client(store, default_registry())
        try:
            spec = {"name": "run", "run": [TRUE], "env": {}}
            from jobtui.client import Submission

            await client.submit_many([Submission("command", {"stages": [spec]}) for _ in range(count)])
            runner = Runner(store, client.registry, concurrency=WORKERS, poll_s=0.01, control_poll_s=0.05)
            t0 = time.perf_counter()
            await runner.run(exit_when_idle=True)
            elapsed = time.perf_counter() - t0
            assert runner.jobs_done == count, runner.jobs_done
            return count / elapsed
        finally:
            await client.close()


async def bench_foreach(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "b.db")
        client = Client(store, default_registry())
        try:
            spec = {"name": "each", "run": [TRUE, "{}"], "env": {}, "items": [f"i{n}" for n in range(count)],
                    "workers": WORKERS}
            job = await client.submit("foreach", {"stages": [spec]})
            runner = Runner(store, client.registry, concurrency=1, poll_s=0.01)
            t0 = time.perf_counter()
            await runner.run(exit_when_idle=True)
            elapsed = time.perf_counter() - t0
            assert (await client.job(job)).items_done == count
            return count / elapsed
        finally:
            await client.close()


async def bench_baseline(count: int) -> float:
    sem = asyncio.Semaphore(WORKERS)

    async def one() -> None:
        async with sem:
            proc = await asyncio.create_subprocess_exec(TRUE, stdin=asyncio.subprocess.DEVNULL,
                                                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                        start_new_session=True)
            await proc.communicate()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return count / (time.perf_counter() - t0)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=1000)
    a = ap.parse_args()
    results: dict[str, list[float]] = {"jobs": [], "foreach": [], "baseline": []}
    for _ in range(a.runs):
        results["baseline"].append(await bench_baseline(a.count))
        results["jobs"].append(await bench_jobs(a.count))
        results["foreach"].append(await bench_foreach(a.count))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{a.count} `true` commands, {WORKERS} at once, median of {a.runs} runs")
    print(f"  plain asyncio subprocess loop   {med['baseline']:8.1f} commands/s")
    print(f"  jobtui add (one job each)       {med['jobs']:8.1f} jobs/s      overhead "
          f"{(1 / med['jobs'] - 1 / med['baseline']) * 1000:6.2f} ms per command")
    print(f"  jobtui foreach (one job)        {med['foreach']:8.1f} items/s     overhead "
          f"{(1 / med['foreach'] - 1 / med['baseline']) * 1000:6.2f} ms per item")
    print("  runs:", {k: [round(x, 1) for x in v] for k, v in results.items()})


if __name__ == "__main__":
    asyncio.run(main())
