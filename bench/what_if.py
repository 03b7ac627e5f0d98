"""What-if estimates: monkeypatch jobtui in this process (src/ is never edited) and re-measure.

    python bench/what_if.py [--runs 5] [--items 50000] [--mode FULL] [--only fast_dumps,one_call_writer]

Each variant is an upper-bound sketch of one suggestion from the profile, not a drop-in patch:

  baseline            jobtui as it is in the working tree
  fast_dumps          store.sqlite.dumps uses one prebuilt JSONEncoder (json.dumps with non-default
                      kwargs builds a new encoder on every call)
  lazy_counters       Store.stage_counters / Store.progress only remember their latest arguments;
                      rows are built once per group commit (what a real fix would do)
  no_stage_done_log   drop the "stage X done in 0.00s" log row written for every stage
  one_call_writer     the group commit runs BEGIN, every executemany and COMMIT in ONE aiosqlite call
                      (one thread round trip per commit instead of ~6-8)
  all                 all of the above

Runs are interleaved (rep 1 of every variant, then rep 2, ...) and medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine as be
from jobtui.engine import runner as runner_mod
from jobtui.errors import StoreError
from jobtui.store import Store

# The store's layout moves (one module or several): find what to patch by what it is, not where.
_core = sys.modules[Store._write_loop.__module__]  # the module that defines the group-commit writer
_Batch = _core._Batch
R_STAGE_COUNTERS, R_PROGRESS = _core.R_STAGE_COUNTERS, _core.R_PROGRESS
_orig_dumps = _core.dumps
_DUMPS_MODULES = [m for n, m in list(sys.modules.items())
                  if n.startswith("jobtui.store") and getattr(m, "dumps", None) is _orig_dumps]
try:
    from jobtui.errors import LeaseLostError
except ImportError:  # older trees
    LeaseLostError = None  # type: ignore[assignment, misc]


@contextmanager
def _patch(obj: Any, name: str, value: Any) -> Iterator[None]:
    missing = object()
    old = getattr(obj, name, missing)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if old is missing:
            delattr(obj, name)
        else:
            setattr(obj, name, old)


@contextmanager
def fast_dumps() -> Iterator[None]:
    enc = json.JSONEncoder(separators=(",", ":"), default=str).encode
    with ExitStack() as st:
        for m in _DUMPS_MODULES:
            st.enter_context(_patch(m, "dumps", enc))
        yield


def _lazy_flush(store: Any) -> None:
    """Turn the remembered counters / progress into their keyed statements (once per commit)."""
    c = store.__dict__.get("_lazy_counters")
    if c:
        for (job_id, index), args in c.items():
            _ORIG["stage_counters"](store, job_id, index, *args)
        c.clear()
    p = store.__dict__.get("_lazy_progress")
    if p:
        for job_id, args in p.items():
            _ORIG["progress"](store, job_id, *args)
        p.clear()


_ORIG: dict[str, Any] = {}


class _ConnProxy:
    """Wraps the aiosqlite connection: right after BEGIN IMMEDIATE (just before the writer takes
    the batch) the lazily kept values become statements of that batch."""

    def __init__(self, store: Any, conn: Any) -> None:
        self._store = store
        self._c = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)

    async def execute(self, sql: str, params: Any = None) -> Any:
        cur = await self._c.execute(sql, params)
        if sql == "BEGIN IMMEDIATE":
            _lazy_flush(self._store)
        return cur


@contextmanager
def lazy_counters() -> Iterator[None]:
    _ORIG["stage_counters"], _ORIG["progress"] = Store.stage_counters, Store.progress
    orig_init = Store.__init__

    def init(self: Any, conn: Any, *a: Any, **kw: Any) -> None:
        orig_init(self, _ConnProxy(self, conn), *a, **kw)
        self._conn._store = self

    def _bump(self: Any) -> None:
        # Make the batch non-empty (so commit_point waits and the writer runs) without a statement.
        self._batch.size += 1
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="jobtui-store-writer")
        self._wake.set()

    def stage_counters(self: Any, job_id: int, index: int, total: Any, done: int, failed: int) -> None:
        pend = self.__dict__.setdefault("_lazy_counters", {})
        if not pend:
            _bump(self)
        pend[(job_id, index)] = (total, done, failed)

    def progress(self: Any, job_id: int, done: int, total: int, message: Any, items_done: int, items_failed: int,
                 consecutive_failures: int) -> None:
        pend = self.__dict__.setdefault("_lazy_progress", {})
        if not pend:
            _bump(self)
        pend[job_id] = (done, total, message, items_done, items_failed, consecutive_failures)

    with ExitStack() as st:
        st.enter_context(_patch(Store, "__init__", init))
        st.enter_context(_patch(Store, "stage_counters", stage_counters))
        st.enter_context(_patch(Store, "progress", progress))
        st.enter_context(_patch(Store, "_lazy_flush", _lazy_flush))
        yield


@contextmanager
def no_stage_done_log() -> Iterator[None]:
    orig = runner_mod.JobRun.log

    def log(self: Any, message: str, level: str = "info") -> None:
        if message.startswith("stage ") and " done in " in message:
            return
        orig(self, message, level)

    with _patch(runner_mod.JobRun, "log", log):
        yield


@contextmanager
def one_call_writer() -> Iterator[None]:
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,) + ((LeaseLostError,) if LeaseLostError else ())

    async def write_loop(self: Any) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._lock:
                if self._batch.size == 0:
                    batch, self._batch = self._batch, _Batch()
                    for w in batch.waiters:
                        if not w.done():
                            w.set_result(None)
                    continue
                self._flushing = True
                error: BaseException | None = None
                if hasattr(self, "_lazy_flush"):
                    self._lazy_flush()
                batch, self._batch = self._batch, _Batch()
                fence = getattr(self, "fence", None)
                conn = self._conn._conn

                # Bind this iteration's values explicitly (the closure runs in aiosqlite's thread while this loop awaits it).
                def work(conn: Any = conn, fence: Any = fence, batch: Any = batch) -> None:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        if fence is not None and conn.execute(
                            "SELECT 1 FROM runners WHERE runner_id = ?", (fence,)
                        ).fetchone() is None:
                            raise LeaseLostError(f"runner {fence} lost its lease")  # type: ignore[misc]
                        for rank in sorted(set(batch.ops) | set(batch.keyed)):
                            for sql, rows in batch.ops.get(rank, {}).items():
                                conn.executemany(sql, rows)
                            for sql, keyed in batch.keyed.get(rank, {}).items():
                                conn.executemany(sql, list(keyed.values()))
                        conn.execute("COMMIT")
                    except BaseException:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                        raise

                try:
                    await self._conn._execute(work)
                    self.commits += 1
                except errors as e:
                    error = e if not isinstance(e, sqlite3.Error) else StoreError(str(e))
            self._flushing = False
            for w in batch.waiters:
                if w.done():
                    continue
                if error is None:
                    w.set_result(None)
                else:
                    w.set_exception(error)

    with _patch(Store, "_write_loop", write_loop):
        yield


VARIANTS: dict[str, Callable[[], Any]] = {
    "baseline": nullcontext,
    "fast_dumps": fast_dumps,
    "lazy_counters": lazy_counters,
    "no_stage_done_log": no_stage_done_log,
    "one_call_writer": one_call_writer,
}


@contextmanager
def _all() -> Iterator[None]:
    with fast_dumps(), lazy_counters(), no_stage_done_log(), one_call_writer():
        yield


VARIANTS["all"] = _all


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--mode", default="FULL")
    ap.add_argument("--only", default="", help="comma-separated variants (baseline is always included)")
    args = ap.parse_args(argv)
    names = list(VARIANTS)
    if args.only:
        names = ["baseline"] + [n for n in args.only.split(",") if n and n != "baseline"]
    mode = args.mode.upper()
    res: dict[tuple[str, str], list[float]] = {}
    for rep in range(args.runs):
        for name in names:
            with VARIANTS[name]():
                for bench in ("stages", "items"):
                    be._fresh()
                    with be._TempDb("whatif") as p:
                        if bench == "stages":
                            r = asyncio.run(be._bench_stages(p, mode, args.jobs, args.jobs))["stages_per_s"]
                        else:
                            r = asyncio.run(be._bench_items(p, mode, args.items))["items_per_s"]
                    res.setdefault((name, bench), []).append(r)
        print(f"run {rep + 1}/{args.runs} done", flush=True)
    base_s = statistics.median(res[("baseline", "stages")])
    base_i = statistics.median(res[("baseline", "items")])
    print(f"\n{'variant (' + mode + ', median of ' + str(args.runs) + ')':<34} {'stages/s':>9} {'vs base':>8} "
          f"{'items/s':>9} {'vs base':>8}")
    for name in names:
        s = statistics.median(res[(name, "stages")])
        i = statistics.median(res[(name, "items")])
        print(f"{name:<34} {s:>9,.0f} {s / base_s:>7.2f}x {i:>9,.0f} {i / base_i:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
