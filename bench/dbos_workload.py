"""The DBOS side of the peer benchmarks: jobtui's e2e workload as DBOS Transact workflows.

Shared by every backend's peer figure (bench_peers.py: DBOS on SQLite; a PostgreSQL bench passes a
`postgresql://` URL): one module, so that both measure the same workflows the same way.

    stages   N workflows of 8 trivial async steps each (bench/e2e_app.py's `e2e_stages`): each step's
             output is checkpointed by DBOS (one transaction per step), like a jobtui stage.
    items    one workflow of N trivial async steps (jobtui's `e2e_items`: one checkpoint per item).

Like jobtui's `jobtui run --exit-when-idle`, the work is queued first by another process (DBOSClient),
then one worker process (DBOS launched, a queue of `concurrency` workflows at once) is timed from its
spawn until it has run every workflow and exited. The child processes are this file:

    python bench/dbos_workload.py enqueue URL KIND COUNT
    python bench/dbos_workload.py work URL KIND COUNT CONCURRENCY

`dbos` is an optional bench dependency (`pip install -e '.[bench]'`), never one of jobtui's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STEPS = 8
QUEUE = "jobtui_bench"
HERE = Path(__file__).resolve().parent


def available() -> bool:
    """Tell whether DBOS Transact is installed."""
    try:
        import dbos  # noqa: F401
    except ImportError:
        return False
    return True


def _define() -> tuple[Any, Any]:
    """Register the bench workflows and queue with DBOS; return (stages workflow, items workflow)."""
    from dbos import DBOS

    @DBOS.step()
    async def stage(job: int, index: int) -> dict[str, Any]:
        return {"stage": index, "job": job}

    @DBOS.step()
    async def item(i: int) -> dict[str, int]:
        return {"i": i, "ok": 1}

    @DBOS.workflow(name="e2e_stages")
    async def e2e_stages(job: int) -> int:
        for index in range(STEPS):
            await stage(job, index)
        return job

    @DBOS.workflow(name="e2e_items")
    async def e2e_items(n: int) -> int:
        count = 0
        for i in range(n):
            await item(i)
            count += 1
        return count

    return e2e_stages, e2e_items


def _queue(concurrency: int) -> None:
    """Register the bench queue (after launch: DBOS keeps queues in its system database)."""
    from dbos import DBOS

    DBOS.register_queue(QUEUE, worker_concurrency=concurrency, polling_interval_sec=0.05)


def _config(url: str) -> dict[str, Any]:
    return {"name": "jobtui-bench", "system_database_url": url, "run_admin_server": False, "log_level": "WARNING",
            "executor_id": f"bench-{os.getpid()}"}


def enqueue(url: str, kind: str, count: int) -> None:
    """Queue the workload with DBOSClient (migrating the database first, as the worker would)."""
    from dbos import DBOS, DBOSClient

    # Create the system database the way an application does, then leave it to the client.
    DBOS(config=_config(url))  # type: ignore[arg-type]
    _define()
    DBOS.launch()
    _queue(1)
    DBOS.destroy(destroy_registry=True)
    client = DBOSClient(system_database_url=url)
    try:
        if kind == "stages":
            for job in range(count):
                client.enqueue({"queue_name": QUEUE, "workflow_name": "e2e_stages"}, job)
        else:
            client.enqueue({"queue_name": QUEUE, "workflow_name": "e2e_items"}, count)
    finally:
        client.destroy()


def work(url: str, kind: str, count: int, concurrency: int) -> None:
    """Launch DBOS, run every queued workflow, check the results, exit."""
    import asyncio

    from dbos import DBOS

    async def main() -> None:
        DBOS(config=_config(url))  # type: ignore[arg-type]
        _define()
        DBOS.launch()
        try:
            await DBOS.register_queue_async(QUEUE, worker_concurrency=concurrency, polling_interval_sec=0.05)
            want = count if kind == "stages" else 1
            deadline = time.monotonic() + 1800
            while True:
                done = await DBOS.list_workflows_async(status="SUCCESS", load_input=False, load_output=False)
                if len(done) >= want:
                    break
                failed = await DBOS.list_workflows_async(status=["ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"],
                                                          load_input=False)
                if failed:
                    raise SystemExit(f"dbos: {len(failed)} workflow(s) failed: {failed[0].error}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"dbos: only {len(done)}/{want} workflows done after 1800 s")
                await asyncio.sleep(0.02)
            steps = 0
            for wf in done[:1] if kind == "items" else done[:5]:
                steps += len(await DBOS.list_workflow_steps_async(wf.workflow_id))
            expect = count if kind == "items" else STEPS * min(5, count)
            if steps != expect:
                raise SystemExit(f"dbos: {steps} recorded steps in the checked workflows, expected {expect}")
        finally:
            DBOS.destroy()

    asyncio.run(main())


def run(url: str, kind: str, count: int, concurrency: int, env: dict[str, str] | None = None) -> float:
    """Queue the workload (not timed), then time one worker process from spawn to exit; return seconds."""
    me = [sys.executable, str(Path(__file__))]
    r = subprocess.run([*me, "enqueue", url, kind, str(count)], capture_output=True, text=True, env=env,
                       timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"dbos enqueue failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    t0 = time.perf_counter()
    r = subprocess.run([*me, "work", url, kind, str(count), str(concurrency)], capture_output=True, text=True,
                       env=env, timeout=1800)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"dbos worker failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return seconds


if __name__ == "__main__":
    cmd, url, kind, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if cmd == "enqueue":
        enqueue(url, kind, count)
    else:
        work(url, kind, count, int(sys.argv[5]))
