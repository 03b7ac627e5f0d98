"""TUI benchmark: the cost of one refresh and of one keypress with 10,000 jobs, 1,000 of them running.

    python bench/bench_tui.py               # 10,000 jobs, 1,000 running, 40 refreshes per case
    python bench/bench_tui.py --quick       # 2,000 jobs, 200 running, 15 refreshes

Setup (not timed): one SQLite file in a temporary folder; N demo jobs submitted in one transaction;
R of them (priority 10, delay=3600 s per stage) are claimed by a real `jobtui run --concurrency R`
subprocess, so they are really running, held by another process (the attach case); of the rest a
third is paused and a sixth cancelled by ordinary control requests; the others stay queued.

The app is the one `jobtui tui --attach` runs (make_app, no runner inside), in Textual's headless
driver at 160x50. Its poll timer is paused so that refreshes are driven and timed one at a time.

Measured (each figure is the median over the refreshes, and the 90th percentile):
  refresh    `await app.poll()`: the incremental read (jobs updated since the watermark minus 2 s),
             the diff, the view update (filter/sort) and the row repaint requests, and the selected
             job's detail and new log lines; then the frame: `screen._on_timer_update()` paints what
             changed. "total" = both; "CPU time" = the process's CPU time over the same span (all its
             threads: SQLite's too), which other processes on a shared machine do not inflate.
    changed  before each refresh, R running jobs report progress (Store.progress, the very write a
             runner makes at each progress tick) from a second connection, as another process would:
             R rows change per refresh.
    sorted   the same, with the list sorted by `updated` (every refresh re-sorts 10,000 rows).
    filtered the same, with a text filter active (`status:running,paused uploading`).
    idle     nothing changed for longer than the overlap window: the poll reads no row.
    overlap  nothing changed, but within the 2 s overlap: R rows are re-read and found equal.
  keypress   a `j` key event posted to the app, until every handler ran and the frame is painted
             (the cursor moved on screen). Pilot's own press() (which adds its waits) is shown too,
             with the same figure for an empty Textual app as a baseline.
  select     from the key to the selected job's detail and log being shown (includes the 80 ms
             debounce that keeps a held-down `j` from reading every row's detail).
  idle CPU   process CPU time over 10 s of the live app (timers running) with nothing changing, with a
             running job selected (its elapsed time and log are redrawn each second) and with a paused one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual import events
from textual.app import App
from textual.widgets import Static

from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.model import JobStatus
from jobtui.store import Store
from jobtui.tui.app import make_app
from jobtui.tui.view import Query


def ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"


async def setup(db: Path, n: int, running: int) -> subprocess.Popen[bytes]:
    store = await Store.open(db, synchronous="OFF")
    client = Client(store, default_registry())
    try:
        subs = [Submission("demo", {"delay": 3600, "items": 0}, priority=10) for _ in range(running)]
        subs += [Submission("demo", {"delay": 1, "items": 20, "seed": i}) for i in range(n - running)]
        ids = await client.submit_many(subs)
        rest = ids[running:]
        for job_id in rest[: len(rest) // 3]:
            await client.pause(job_id)
        for job_id in rest[len(rest) // 3 : len(rest) // 3 + len(rest) // 6]:
            await client.cancel(job_id)
    finally:
        await client.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    runner = subprocess.Popen(
        [sys.executable, "-m", "jobtui", "run", "--db", str(db), "--concurrency", str(running), "--quiet"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    client = await Client.open(db)
    try:
        deadline = time.monotonic() + 120
        while (await client.stats()).by_status.get("running", 0) < running:
            if time.monotonic() > deadline:
                raise SystemExit("the runner did not claim the jobs in time")
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    return runner


async def press_baseline(count: int) -> list[float]:
    class Empty(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Static("x")

    app = Empty()
    times = []
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(count):
            t0 = time.perf_counter()
            await pilot.press("j")
            times.append(time.perf_counter() - t0)
    return times


async def measure(db: Path, running_ids: list[int], refreshes: int) -> dict[str, list[float]]:
    client = await Client.open(db, source="tui")
    writer = await Store.open(db)
    out: dict[str, list[float]] = {}
    try:
        app = make_app(client)
        async with app.run_test(size=(160, 50)) as pilot:
            while not app.settled:
                await pilot.pause(0.05)
            app.pause_polling()
            await pilot.pause(0.3)
            app.select_job(running_ids[len(running_ids) // 2])
            await pilot.pause(2.5)  # past the overlap window of the setup's own writes: the steady state
            tick = [0]
            deltas: list[int] = []
            apply_delta = app.apply_delta

            def counting(delta):  # type: ignore[no-untyped-def]
                deltas.append(len(delta.changed))
                apply_delta(delta)

            app.apply_delta = counting  # type: ignore[method-assign]

            async def change() -> None:
                tick[0] += 1
                for job_id in running_ids:
                    writer.progress(job_id, tick[0] % 10, 10, f"scraping {tick[0] % 10}/10", 0, 0, 0)
                await writer.commit_point()

            async def refresh_case(name: str, before: Callable[[], Awaitable[None]] | None) -> None:
                polls, frames, totals, cpus, sizes, changed = [], [], [], [], [], []
                for _ in range(refreshes):
                    if before is not None:
                        await before()
                    await pilot.pause(0.01)
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    await app.poll()
                    t1 = time.perf_counter()
                    app.screen._on_timer_update()
                    t2 = time.perf_counter()
                    cpus.append(time.process_time() - c0)
                    polls.append(t1 - t0)
                    frames.append(t2 - t1)
                    totals.append(t2 - t0)
                    sizes.append(app.feed.rows_read)
                    changed.append(deltas[-1] if deltas else 0)
                    deltas.clear()
                out[f"{name} poll"] = polls
                out[f"{name} frame"] = frames
                out[f"{name} total"] = totals
                out[f"{name} total, CPU time"] = cpus
                out[f"{name} rows read"] = [float(s) for s in sizes]
                out[f"{name} rows changed"] = [float(c) for c in changed]

            await refresh_case("changed", change)
            app.set_view(sort="updated")
            await refresh_case("sorted", change)
            app.set_view(sort="id", query=Query.parse("status:running,paused scraping"))
            await refresh_case("filtered", change)
            app.set_view(query=Query())
            await refresh_case("overlap", None)
            await asyncio.sleep(2.5)
            await refresh_case("idle", None)

            # Keypresses: the cursor moves one row in the 10,000-row list.
            app.set_view(sort="id")
            app.table.focus()
            app.select_job(app.table.order[100])
            await pilot.pause(0.3)
            keys, selects, pilots = [], [], []
            paused_id = next(j.job_id for j in app.feed.jobs.values() if j.status is JobStatus.PAUSED)
            for _ in range(refreshes):
                await pilot.pause(0.12)
                before = app.table.selected_id
                t0 = time.perf_counter()
                key = events.Key("j", "j")
                key.set_sender(app)
                app.post_message(key)  # what the terminal driver does for each key read
                for _ in range(10_000):
                    if app.table.selected_id != before:
                        break
                    await asyncio.sleep(0)
                await pilot._wait_for_screen()
                app.screen._on_timer_update()
                t1 = time.perf_counter()
                keys.append(t1 - t0)
                target = app.table.selected_id
                assert target != before, "the key moved the cursor"
                while not (app.selected == target and app.settled):
                    await asyncio.sleep(0.002)
                app.screen._on_timer_update()
                selects.append(time.perf_counter() - t0)
            for _ in range(refreshes):
                await pilot.pause(0.12)
                t0 = time.perf_counter()
                await pilot.press("j")
                pilots.append(time.perf_counter() - t0)
            out["keypress j → frame"] = keys
            out["keypress → detail+log shown"] = selects
            out["pilot.press('j')"] = pilots

            # Idle: the live app, timers running, nothing changing.
            app.resume_polling()
            for label, job_id in (("a running job selected", running_ids[0]),
                                  ("a paused job selected", paused_id)):
                app.select_job(job_id)
                await pilot.pause(3.0)
                c0, w0 = time.process_time(), time.perf_counter()
                await asyncio.sleep(10.0)
                out[f"idle cpu, {label}"] = [(time.process_time() - c0) / (time.perf_counter() - w0)]
    finally:
        await writer.close()
        await client.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=1_000)
    parser.add_argument("--refreshes", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    a = parser.parse_args()
    if a.quick:
        a.jobs, a.running, a.refreshes = 2_000, 200, 15
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        runner = await setup(db, a.jobs, a.running)
        try:
            client = await Client.open(db)
            try:
                running_ids = [j.job_id for j in await client.list_jobs(statuses=[JobStatus.RUNNING])]
                stats = await client.stats()
            finally:
                await client.close()
            print(f"setup {time.perf_counter() - t0:.1f}s: {stats.total} jobs "
                  + ", ".join(f"{v} {k}" for k, v in sorted(stats.by_status.items()))
                  + f"; runner pid {runner.pid}; Python {sys.version.split()[0]}, {os.cpu_count()} cores")
            results = await measure(db, running_ids, a.refreshes)
            results["pilot.press('j') in an empty Textual app"] = await press_baseline(a.refreshes)
        finally:
            runner.send_signal(signal.SIGTERM)
            runner.wait(timeout=60)
    for name, values in results.items():
        if name.startswith("idle cpu"):
            print(f"{name:<44} {values[0] * 100:.2f}% of one core over 10 s")
        elif name.endswith(("rows read", "rows changed")):
            print(f"{name:<44} median {statistics.median(values):7.0f} rows")
        else:
            print(f"{name:<44} {ms(values)}")


if __name__ == "__main__":
    asyncio.run(main())
