"""TUI benchmark: a refresh, the idle poll, a keypress and real painting, at 10,000 jobs or more.

    python bench/bench_tui.py                                   # 10,000 jobs, 1,000 running
    python bench/bench_tui.py --jobs 100000 --baseline /work/wt/tuispeed-base/src --rounds 2
    python bench/bench_tui.py --quick                           # 2,000 jobs, 200 running

With `--baseline SRC`, the same measures run on the code under SRC (e.g. a worktree of main before a
change) in the same run, interleaved round by round (baseline, this code, baseline, ...), and each
figure is printed beside the machine's load average (`/proc/loadavg`) when it was taken.

Setup (not timed; per code version, on its own copy of the data): one SQLite file in a temporary
folder; N demo jobs submitted in one transaction; R of them (priority 10, delay=3600 s per stage) are
claimed by a real `jobtui run --concurrency R` subprocess, so they are really running, held by another
process (the attach case); of the rest a third is paused and a sixth cancelled by ordinary control
requests; the others stay queued. Each code version runs in its own process (PYTHONPATH=its src).

In process (Textual's headless driver, 160x50, poll timer paused, refreshes driven one at a time):
  refresh    `await app.poll()` then `screen._on_timer_update()` (the headless driver paints nothing, so
             this is the work up to painting). Before each, R running jobs report progress
             (Store.progress from a second connection, as a runner does): R rows change per refresh.
             Cases: changed (sort by id), sorted (by `updated`), filtered (`status:running,paused
             scraping`), idle (nothing changed for longer than any overlap window).
  keypress   a `j` key event posted to the app until the cursor moved and the frame is composed.

In a real pseudo-terminal (`python -m jobtui tui --attach` under a pty at 160x50, Textual's Linux
driver, TERM=xterm-256color; bench/tui_pty.py):
  first frame   from spawning the process to the job list's title written to the terminal (the sources are
                compiled first, as an install does).
  change→frame  from the commit of a change (R running jobs report progress; the selected one's
                message carries a fresh marker) to the marker's bytes written to the terminal (the
                detail pane, drawn after the list). Changes are spaced by a random 0.15-0.35 s so that
                they fall at every phase of the app's timers. Cases: changed, sorted, filtered.
  idle CPU      the app's CPU time (/proc/PID/stat, all threads) over 10 s with nothing changing
                (the runner's heartbeats still commit), per second of wall time.
  busy CPU      the same while the R running jobs report progress continuously (every 0.1 s).
  RSS           the app's resident memory after the first frame and after the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def load() -> float:
    """Return the machine's 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def p90(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.9))]


# ------------------------------------------------------------------------------------------- setup
async def setup(db: Path, n: int, running: int) -> int:
    """Fill a database and start a runner holding `running` jobs; return the runner's pid."""
    from jobtui.client import Client, Submission
    from jobtui.store import Store

    try:
        from jobtui.builtins import default_registry
    except ImportError:  # the code before the split of the engine (a baseline)
        from jobtui.engine import default_registry  # type: ignore[attr-defined,no-redef]

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
        start_new_session=True,
    )
    client = await Client.open(db)
    try:
        deadline = time.monotonic() + 300
        while (await client.stats()).by_status.get("running", 0) < running:
            if time.monotonic() > deadline:
                raise SystemExit("the runner did not claim the jobs in time")
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    return runner.pid


async def running_ids(db: Path) -> list[int]:
    from jobtui.client import Client

    client = await Client.open(db)
    try:
        return sorted(j.job_id for j in await client.list_jobs(statuses=["running"]))
    finally:
        await client.close()


# -------------------------------------------------------------------------------------- in process
async def in_process(db: Path, refreshes: int) -> dict[str, list[float]]:
    """Time refreshes and keypresses of the app in Textual's headless driver."""
    from textual import events

    from jobtui.client import Client
    from jobtui.store import Store
    from jobtui.tui.app import make_app
    from jobtui.tui.view import Query

    ids = await running_ids(db)
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
            app.select_job(ids[0])
            await pilot.pause(2.5)  # past the overlap window of the setup's own writes: the steady state
            tick = [0]

            async def change() -> None:
                tick[0] += 1
                for job_id in ids:
                    writer.progress(job_id, tick[0] % 10, 10, f"scraping {tick[0] % 10}/10", 0, 0, 0)
                await writer.commit_point()

            async def case(name: str, before: Callable[[], Awaitable[None]] | None) -> None:
                totals, cpus = [], []
                for _ in range(refreshes):
                    await pilot.pause(0.12)  # past the app's busy gap (a poll within 0.1 s of a refresh waits)
                    if before is not None:
                        await before()
                    await pilot.pause(0.01)
                    c0, t0 = time.process_time(), time.perf_counter()
                    await app.poll()
                    app.screen._on_timer_update()
                    totals.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                out[f"{name}: poll + compose, wall"] = totals
                out[f"{name}: poll + compose, CPU"] = cpus

            await case("changed", change)
            app.set_view(sort="updated")
            await case("sorted", change)
            app.set_view(sort="id", query=Query.parse("status:running,paused scraping"))
            await case("filtered", change)
            app.set_view(query=Query())
            await asyncio.sleep(2.5)
            await case("idle", None)

            app.table.focus()
            app.select_job(ids[min(100, len(ids) - 1)])
            await pilot.pause(0.3)
            keys = []
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
                keys.append(time.perf_counter() - t0)
                assert app.table.selected_id != before, "the key moved the cursor"
            out["keypress j → frame composed"] = keys
    finally:
        await writer.close()
        await client.close()
    return out


# ------------------------------------------------------------------------------------------- in a pty
async def in_pty(db: Path, src: str, changes: int, jobs: int) -> dict[str, list[float]]:
    """Time the app as a user's terminal sees it."""
    sys.path.insert(0, str(HERE))
    from jobtui.store import Store
    from tui_pty import PtyApp

    ids = await running_ids(db)
    writer = await Store.open(db)
    app = PtyApp(db, src)
    out: dict[str, list[float]] = {}
    tick = [0]

    async def change(marker: bool = True) -> bytes:
        tick[0] += 1
        mark = f"m{tick[0]}q"
        for job_id in ids:
            writer.progress(job_id, tick[0] % 10, 10, f"scraping {mark}", 0, 0, 0)
        await writer.commit_point()
        return mark.encode()

    try:
        shown = app.wait_for(f"Jobs {jobs}".encode(), 0, timeout=120)
        out["first frame (spawn → list title written)"] = [shown - app.started]
        app.drain(0.5, limit=20)
        out["RSS after first frame, MB"] = [app.rss_mb()]

        async def case(name: str) -> None:
            lat = []
            c0, w0 = app.cpu_s(), time.perf_counter()
            for _ in range(changes):
                app.drain(0.0, limit=0.01)
                since = len(app.buf)
                mark = await change()
                t0 = time.perf_counter()
                lat.append(app.wait_for(mark, since) - t0)
                gap = time.perf_counter() + random.uniform(0.15, 0.35)
                while time.perf_counter() < gap:
                    app.pump(max(0.0, gap - time.perf_counter()))
            out[f"{name}: change → frame written"] = lat
            out[f"{name}: app CPU per change, ms"] = [(app.cpu_s() - c0) / changes * 1000]
            del w0

        await case("changed")
        since = len(app.buf)
        app.send("ss")  # id → status → updated
        app.wait_for(b"sort updated", since)
        app.drain(0.3)
        await case("sorted")
        since = len(app.buf)
        app.send("ssss")  # updated → progress → priority → type → id
        app.wait_for(b"sort id", since)
        since = len(app.buf)
        app.send("/")
        app.wait_for(b"(esc: clear)", since)  # the filter box's hint: typed before it shows, the text is keys
        app.drain(0.3)
        app.send("status:running,paused scraping\r")
        app.wait_for(b"filter status:running", since)
        app.drain(0.3)
        await case("filtered")

        app.drain(2.5, limit=10)
        c0, w0 = app.cpu_s(), time.perf_counter()
        end = w0 + 10
        while time.perf_counter() < end:
            app.pump(end - time.perf_counter())
        out["idle CPU, % of a core"] = [(app.cpu_s() - c0) / (time.perf_counter() - w0) * 100]

        c0, w0 = app.cpu_s(), time.perf_counter()
        end = w0 + 10
        while time.perf_counter() < end:
            await change()
            nxt = time.perf_counter() + 0.1
            while time.perf_counter() < nxt:
                app.pump(max(0.0, nxt - time.perf_counter()))
        out["busy CPU (R jobs report every 0.1 s), % of a core"] = [(app.cpu_s() - c0) / (time.perf_counter() - w0) * 100]
        out["RSS at the end, MB"] = [app.rss_mb()]
    finally:
        app.close()
        await writer.close()
    return out


# ------------------------------------------------------------------------------------ orchestration
def child(mode: str, src: str, db: Path, a: argparse.Namespace) -> Any:
    """Run one step in a process of the code under `src`; return what it printed (JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = src
    args = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--db", str(db), "--src", src,
            "--jobs", str(a.jobs), "--running", str(a.running), "--refreshes", str(a.refreshes),
            "--changes", str(a.changes)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} under {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(a: argparse.Namespace) -> None:
    db = Path(a.db)
    if a.child == "setup":
        print(json.dumps(asyncio.run(setup(db, a.jobs, a.running))))
    elif a.child == "inproc":
        print(json.dumps(asyncio.run(in_process(db, a.refreshes))))
    elif a.child == "pty":
        print(json.dumps(asyncio.run(in_pty(db, a.src, a.changes, a.jobs))))


def show(name: str, versions: dict[str, list[tuple[list[float], float]]]) -> None:
    """Print one measure: per version, its median and p90 (ms, or the unit in the name) and the load."""
    cells = []
    for label, runs in versions.items():
        values = [v for vs, _ in runs for v in vs]
        loads = "/".join(f"{ld:.1f}" for _, ld in runs)
        if not values:
            continue
        if name.endswith(("MB", "core", "ms")):
            cells.append(f"{label}: {statistics.median(values):8.1f}           (load {loads})")
        else:
            cells.append(f"{label}: {statistics.median(values) * 1000:7.1f} / {p90(values) * 1000:7.1f} ms"
                         f"  (load {loads})")
    print(f"{name:<52} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=1_000)
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--changes", type=int, default=30, help="changes timed per case in the pty")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", help="the src folder of the code to compare with, run alternately")
    parser.add_argument("--no-pty", action="store_true")
    parser.add_argument("--no-inproc", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=["setup", "inproc", "pty"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--src", default=str(SRC), help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.quick:
        a.jobs, a.running, a.refreshes, a.changes = 2_000, 200, 15, 15
    if a.child:
        run_child(a)
        return
    versions = {"before": a.baseline, "now": str(SRC)} if a.baseline else {"now": str(SRC)}
    results: dict[str, dict[str, list[tuple[list[float], float]]]] = {}
    runners: list[int] = []
    for src in versions.values():
        # As installed (pip compiles on install): with PYTHONDONTWRITEBYTECODE set (as here), the app would
        # otherwise compile every module it imports before its first frame (~0.3 s of CPU).
        subprocess.run([sys.executable, "-m", "compileall", "-q", src], capture_output=True, check=False)
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {}
        try:
            for label, src in versions.items():
                dbs[label] = Path(tmp) / f"{label}.db"
                t0 = time.perf_counter()
                runners.append(child("setup", src, dbs[label], a))
                print(f"setup {label}: {a.jobs} jobs, {a.running} running, {time.perf_counter() - t0:.0f} s"
                      f" (load {load():.1f})", flush=True)
            for r in range(a.rounds):
                for label, src in versions.items():
                    for mode in ("inproc", "pty"):
                        if (mode == "pty" and a.no_pty) or (mode == "inproc" and a.no_inproc):
                            continue
                        ld = load()
                        got = child(mode, src, dbs[label], a)
                        for name, values in got.items():
                            results.setdefault(name, {}).setdefault(label, []).append((values, ld))
                        print(f"round {r + 1}: {label} {mode} done (load {ld:.1f})", flush=True)
        finally:
            for pid in runners:
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                deadline = time.monotonic() + 60
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.1)  # sleep: the runner is not our child; wait for it to hand its jobs back
    print(f"\n{a.jobs} jobs, {a.running} running; median / p90; Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores")
    for name, per in results.items():
        show(name, per)


if __name__ == "__main__":
    main()
