"""Profile the engine benchmarks: where the event-loop thread and the aiosqlite thread spend time.

    python bench/profile_engine.py stages [--mode FULL] [--jobs 1000] [--top 30]
    python bench/profile_engine.py items  [--mode FULL] [--items 100000] [--top 30]
    python bench/profile_engine.py stages --pyinstrument      # needs `pip install pyinstrument`

Only `runner.run()` is profiled (not submit, not verification).

* main thread: cProfile (or pyinstrument), by own time and by cumulative time.
* aiosqlite's worker thread, where SQLite runs: cProfile cannot see into it usefully (the calls are
  functools.partial objects of C methods), so its worker function is replaced by a copy that times
  each queued call, grouped by method and the statement's first words: calls, rows (executemany),
  seconds in SQLite, plus the thread's idle time and the time spent waking the event loop.

Raw profiles are saved as bench/results/profile-<bench>-*.pstats / .html for later study.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite.core

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engine as be


class SqlTimer:
    """A drop-in for aiosqlite's worker loop that times every queued call while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])  # calls, rows, seconds
        self.idle = 0.0
        self.wake = 0.0
        self.window = 0.0
        self._t0 = 0.0

    def start(self) -> None:
        self.on = True
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        self.on = False
        self.window = time.perf_counter() - self._t0

    @staticmethod
    def _label(function: Any) -> tuple[str, int]:
        fn = getattr(function, "func", function)
        name = getattr(fn, "__name__", repr(fn))
        args = getattr(function, "args", ())
        rows = 1
        sql = ""
        if args and isinstance(args[0], str):
            sql = " ".join(args[0].split())
            if name == "executemany" and len(args) > 1:
                try:
                    rows = len(args[1])
                except TypeError:
                    rows = 0
        return f"{name:<17} {sql[:90]}", rows

    def worker(self, tx: Any) -> None:
        stop = aiosqlite.core._STOP_RUNNING_SENTINEL
        set_result, set_exception = aiosqlite.core.set_result, aiosqlite.core.set_exception
        while True:
            t = time.perf_counter()
            future, function = tx.get()
            t1 = time.perf_counter()
            on = self.on
            if on:
                self.idle += t1 - t
            try:
                result = function()
                t2 = time.perf_counter()
                if future:
                    future.get_loop().call_soon_threadsafe(set_result, future, result)
                if on:
                    label, rows = self._label(function)
                    s = self.stats[label]
                    s[0] += 1
                    s[1] += rows
                    s[2] += t2 - t1
                    self.wake += time.perf_counter() - t2
                if result is stop:
                    break
            except BaseException as e:
                if future:
                    future.get_loop().call_soon_threadsafe(set_exception, future, e)

    def report(self, top: int) -> str:
        busy = sum(s[2] for s in self.stats.values())
        lines = [
            f"\n===== aiosqlite worker thread during runner.run() ({self.window:.3f}s window) =====",
            f"in SQLite calls {busy:.3f}s  ·  waking the loop {self.wake:.3f}s  ·  idle (queue empty) {self.idle:.3f}s",
            f"{'calls':>7} {'rows':>8} {'seconds':>8} {'us/row':>7}  method / statement",
        ]
        for label, (calls, rows, secs) in sorted(self.stats.items(), key=lambda kv: -kv[1][2])[:top]:
            lines.append(f"{calls:>7} {rows:>8} {secs:>8.4f} {1e6 * secs / max(rows, 1):>7.1f}  {label}")
        return "\n".join(lines)


class Hooks:
    """Start/stop the main-thread profiler and the SQL timer right around runner.run()."""

    def __init__(self, main: Any, timer: SqlTimer) -> None:
        self.main = main
        self.timer = timer

    def start(self) -> None:
        self.timer.start()
        if self.main is not None:
            self.main.start() if hasattr(self.main, "start") else self.main.enable()

    def stop(self) -> None:
        if self.main is not None:
            self.main.stop() if hasattr(self.main, "stop") and not isinstance(self.main, cProfile.Profile) else self.main.disable()
        self.timer.stop()


def _pstats_text(prof: cProfile.Profile, title: str, top: int) -> str:
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf).strip_dirs()
    buf.write(f"\n===== {title}: by own time =====\n")
    st.sort_stats("tottime").print_stats(top)
    buf.write(f"\n===== {title}: by cumulative time =====\n")
    st.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", choices=("stages", "items"))
    ap.add_argument("--mode", default="FULL")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--pyinstrument", action="store_true", help="profile the main thread with pyinstrument")
    ap.add_argument("--sql-only", action="store_true", help="only time SQL (no main-thread profiler: less distortion)")
    args = ap.parse_args(argv)

    timer = SqlTimer()
    main_prof: Any = None
    if args.pyinstrument:
        from pyinstrument import Profiler  # type: ignore[import-not-found]

        main_prof = Profiler(interval=0.0005, async_mode="disabled")
    elif not args.sql_only:
        main_prof = cProfile.Profile()
    hooks = Hooks(main_prof, timer)

    orig = aiosqlite.core._connection_worker_thread
    aiosqlite.core._connection_worker_thread = timer.worker
    try:
        with be._TempDb("profile") as path:
            if args.bench == "stages":
                res = asyncio.run(be._bench_stages(path, args.mode.upper(), args.jobs, min(args.jobs, 1000), hooks))
            else:
                res = asyncio.run(be._bench_items(path, args.mode.upper(), args.items, hooks))
    finally:
        aiosqlite.core._connection_worker_thread = orig

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    be.RESULTS.mkdir(parents=True, exist_ok=True)
    brief = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}
    how = "pyinstrument" if args.pyinstrument else "SQL timing only" if args.sql_only else "cProfile"
    print(f"{args.bench} ({args.mode.upper()}) under {how} (profiling slows it): {brief}")
    if isinstance(main_prof, cProfile.Profile):
        print(_pstats_text(main_prof, "main thread (event loop), runner.run() only", args.top))
        out = be.RESULTS / f"profile-{args.bench}-main-{stamp}.pstats"
        main_prof.dump_stats(out)
        print(f"wrote {out.relative_to(be.HERE.parent)}")
    elif main_prof is not None:
        print(main_prof.output_text(unicode=True, color=False))
        out = be.RESULTS / f"profile-{args.bench}-pyinstrument-{stamp}.html"
        out.write_text(main_prof.output_html())
        print(f"wrote {out.relative_to(be.HERE.parent)}")
    print(timer.report(args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
