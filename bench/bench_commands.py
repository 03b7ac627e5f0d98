"""Command supervision beside the tools a terminal user would pick instead, measured in the same run.

    python bench/bench_commands.py                     # 3 rounds: 1,000 `true`, 200 `sleep 0.1`
    python bench/bench_commands.py --counts 1000,10000 --runs 3
    python bench/bench_commands.py --only bare,foreach,add --counts 1000
    python bench/bench_commands.py --baseline d96d9e7   # and jobtui at that commit, in the same run

Every workload runs N commands, 8 at once, each given one item as its last argument (`true i17`,
`sleep 0.1 0e17`: GNU sleep adds its arguments, and 0e17 is zero). Wall time from the first command
issued to the last finished; every figure is the median of the rounds, and the rounds are interleaved
(round 1 of every tool, then round 2, ...) so that the load of a shared machine hits all alike.

  xargs     `xargs -P8 -n1 -a ITEMS CMD`
  parallel  GNU parallel: `parallel -j8 -a ITEMS CMD {}`
  tsp       task-spooler with its own socket: `tsp -S 8`, N x `tsp CMD ITEM`, a barrier job that takes
            all 8 slots (`tsp -N 8 true`), `tsp -w`
  bare      a bare asyncio loop in a fresh Python process: N x create_subprocess_exec with stdout and
            stderr piped and read to EOF, at most 8 at once (timed inside, start-up excluded); the summary also
            gives its rate as a whole process (`bare proc`: interpreter start to exit), measured as the others are
  foreach   `jobtui foreach --lines ITEMS --workers 8 -- CMD {}` then `jobtui run --exit-when-idle
            --concurrency 8` on a fresh SQLite file: both processes, start to exit
  add       one `command` job per command, queued by one `jobtui submit command --from JOBS.jsonl`
            (`jobtui add` is the same job, one process per command), then the same `jobtui run`

With `--baseline REF`, foreach and add also run from a temporary git worktree of REF (`foreach@base`,
`add@base`), interleaved with the others. For foreach and add it also prints the rate of the `jobtui run`
process alone (start to exit, the jobs queued beforehand) and checks the database: every job completed,
every item done.
Peers that are missing are installed from Debian's packages (`parallel`, `task-spooler`) when
apt-get can; otherwise they are skipped with a note.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
WORKERS = 8
TOOLS = ("xargs", "parallel", "tsp", "bare", "foreach", "add")
DEBIAN = {"parallel": "parallel", "tsp": "task-spooler"}


class BenchError(RuntimeError):
    """A tool failed or did not run every command."""


def _env(src: Path = SRC) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for k in ("JOBTUI_APP", "JOBTUI_DB", "JOBTUI_CONFIG"):
        env.pop(k, None)
    return env


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, **kw)  # type: ignore[call-overload]
    if r.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:6])} exited {r.returncode}: {(r.stderr or r.stdout).strip()[-1500:]}")
    return r  # type: ignore[no-any-return]


def ensure_peers(wanted: list[str]) -> dict[str, str]:
    """Install the missing peers from Debian's packages where possible; return {tool: why skipped}."""
    missing = [t for t in wanted if t in DEBIAN and shutil.which(t) is None]
    if missing and shutil.which("apt-get"):
        pkgs = [DEBIAN[t] for t in missing]
        print(f"installing {' '.join(pkgs)} (apt-get)", flush=True)
        r = subprocess.run(["apt-get", "install", "-y", *pkgs], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", *pkgs], capture_output=True)
    skipped = {t: f"`{t}` not installed and apt-get could not install {DEBIAN[t]}"
               for t in wanted if t in DEBIAN and shutil.which(t) is None}
    if "xargs" in wanted and shutil.which("xargs") is None:
        skipped["xargs"] = "xargs not found"
    return skipped


class Workload:
    """N commands of one kind, their items written to files in a scratch folder."""

    def __init__(self, kind: str, count: int, tmp: Path) -> None:
        self.kind, self.count = kind, count
        self.argv = ["true"] if kind == "true" else ["sleep", "0.1"]
        self.items = [f"i{n}" for n in range(count)] if kind == "true" else [f"0e{n}" for n in range(count)]
        self.dir = Path(tempfile.mkdtemp(prefix=f"{kind.split()[0]}-{count}-", dir=tmp))
        self.item_file = self.dir / "items.txt"
        self.item_file.write_text("\n".join(self.items) + "\n")
        self.jobs_file = self.dir / "jobs.jsonl"
        self.jobs_file.write_text("".join(
            json.dumps({"stages": [{"name": "run", "run": [*self.argv, it]}]}) + "\n" for it in self.items))

    @property
    def label(self) -> str:
        return f"{self.count:,} x `{' '.join(self.argv)}`"

    def scratch(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=name + "-", dir=self.dir))
        return path


def t_xargs(w: Workload) -> dict[str, float]:
    t0 = time.perf_counter()
    _run(["xargs", f"-P{WORKERS}", "-n1", "-a", str(w.item_file), *w.argv])
    return {"wall": time.perf_counter() - t0}


def t_parallel(w: Workload) -> dict[str, float]:
    t0 = time.perf_counter()
    _run(["parallel", "--will-cite", f"-j{WORKERS}", "-a", str(w.item_file), *w.argv, "{}"])
    return {"wall": time.perf_counter() - t0}


def t_tsp(w: Workload) -> dict[str, float]:
    folder = w.scratch("tsp")
    env = dict(os.environ, TS_SOCKET=str(folder / "sock"), TMPDIR=str(folder), TS_MAXFINISHED=str(w.count + 10))
    try:
        t0 = time.perf_counter()
        _run(["tsp", "-S", str(WORKERS)], env=env)
        for it in w.items:
            _run(["tsp", *w.argv, it], env=env)
        _run(["tsp", "-N", str(WORKERS), "true"], env=env)  # a barrier: runs once all 8 slots are free
        _run(["tsp", "-w"], env=env)
        wall = time.perf_counter() - t0
        listing = _run(["tsp", "-l"], env=env).stdout
        done = sum(1 for ln in listing.splitlines() if " finished " in ln)
        if done != w.count + 1:
            raise BenchError(f"tsp: {done} finished jobs, expected {w.count + 1}")
        return {"wall": wall}
    finally:
        subprocess.run(["tsp", "-K"], env=env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


BARE = """
import asyncio, sys, time
argv, items, workers = sys.argv[1:-2], open(sys.argv[-2]).read().split(), int(sys.argv[-1])
async def main():
    sem = asyncio.Semaphore(workers)
    async def one(item):
        async with sem:
            p = await asyncio.create_subprocess_exec(*argv, item, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
            await p.communicate()
            assert p.returncode == 0
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in items))
    print(time.perf_counter() - t0)
asyncio.run(main())
"""


def t_bare(w: Workload) -> dict[str, float]:
    t0 = time.perf_counter()
    r = _run([sys.executable, "-c", BARE, *w.argv, str(w.item_file), str(WORKERS)])
    return {"wall": float(r.stdout.split()[-1]), "proc": time.perf_counter() - t0}


def _jobtui(db: Path, *args: str, src: Path = SRC) -> None:
    _run([sys.executable, "-m", "jobtui", "--db", str(db), *args], env=_env(src))


def _check(db: Path, jobs: int, items: int) -> None:
    conn = sqlite3.connect(db)
    try:
        by = dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        if by.get("completed", 0) != jobs or sum(by.values()) != jobs:
            raise BenchError(f"jobs by status {by}, expected {jobs} completed")
        if items:
            done = conn.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0]
            if done != items:
                raise BenchError(f"{done} items done, expected {items}")
    finally:
        conn.close()


def _jobtui_run(w: Workload, queue: Callable[[Path], None], jobs: int, items: int, src: Path) -> dict[str, float]:
    folder = w.scratch("jobtui")
    try:
        db = folder / "b.db"
        t0 = time.perf_counter()
        queue(db)
        t1 = time.perf_counter()
        _jobtui(db, "run", "--exit-when-idle", "--quiet", "--keep", "never", "--concurrency", str(WORKERS), src=src)
        t2 = time.perf_counter()
        _check(db, jobs, items)
        return {"wall": t2 - t0, "run": t2 - t1}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def t_foreach(w: Workload, src: Path = SRC) -> dict[str, float]:
    return _jobtui_run(w, lambda db: _jobtui(db, "foreach", "--lines", str(w.item_file), "--workers", str(WORKERS),
                                             "--", *w.argv, "{}", src=src), 1, w.count, src)


def t_add(w: Workload, src: Path = SRC) -> dict[str, float]:
    return _jobtui_run(w, lambda db: _jobtui(db, "submit", "command", "--from", str(w.jobs_file), src=src),
                       w.count, 0, src)


TIMERS: dict[str, Callable[[Workload], dict[str, float]]] = {
    "xargs": t_xargs, "parallel": t_parallel, "tsp": t_tsp, "bare": t_bare, "foreach": t_foreach, "add": t_add,
}


def _load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--counts", default="1000", help="numbers of `true` commands, comma-separated (default 1000)")
    ap.add_argument("--sleeps", type=int, default=200, help="number of `sleep 0.1` commands (0: none; default 200)")
    ap.add_argument("--only", default=",".join(TOOLS), help=f"comma-separated, of {','.join(TOOLS)}")
    ap.add_argument("--baseline", metavar="REF", help="also run foreach and add from this git commit, same run")
    a = ap.parse_args(argv)
    tools = [t for t in a.only.split(",") if t]
    bad = [t for t in tools if t not in TIMERS]  # before any @base is added
    if bad:
        ap.error(f"unknown tool {bad[0]!r}")
    skipped = ensure_peers(tools)
    tools = [t for t in tools if t not in skipped]
    tmp = Path(tempfile.mkdtemp(prefix="jobtui-cmds-"))
    if a.baseline:
        base = tmp / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), a.baseline], cwd=HERE, check=True,
                       capture_output=True)
        for t in [t for t in tools if t in ("foreach", "add")]:
            tools.append(t + "@base")
            TIMERS[t + "@base"] = functools.partial(TIMERS[t], src=base / "src")
    for src in [SRC, *([tmp / "baseline" / "src"] if a.baseline else [])]:
        # As installed (pip compiles on install): with PYTHONDONTWRITEBYTECODE set (as here), each jobtui process
        # would otherwise compile every module it imports, ~0.5 s of CPU per start.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], capture_output=True)
    print(f"Python {sys.version.split()[0]} · {os.cpu_count()} CPUs · {_load()} · {WORKERS} at once · "
          f"median of {a.runs} interleaved rounds", flush=True)
    for tool, why in skipped.items():
        print(f"  skipped {tool}: {why}")
    try:
        loads = [Workload("true", int(c), tmp) for c in a.counts.split(",") if c]
        if a.sleeps:
            loads.append(Workload("sleep", a.sleeps, tmp))
        res: dict[tuple[str, str], list[dict[str, float]]] = {(w.label, t): [] for w in loads for t in tools}
        for rnd in range(a.runs):
            for w in loads:
                for tool in tools:
                    r = TIMERS[tool](w)
                    res[(w.label, tool)].append(r)
                    extra = f" (run alone {r['run']:.3f} s)" if "run" in r else ""
                    print(f"  round {rnd + 1}/{a.runs} {w.label:<22} {tool:<9} {r['wall']:8.3f} s{extra}  {_load()}",
                          flush=True)
    except BenchError as e:
        print(f"\nBENCHMARK FAILED: {e}", file=sys.stderr)
        return 2
    finally:
        if a.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=HERE,
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ncommands/s (median of {a.runs}; {_load()} at the end)")
    head = f"{'workload':<24}" + "".join(f"{t:>13}" for t in tools)
    print(head + "\n" + "-" * len(head))
    for w in loads:
        rate = {t: w.count / statistics.median(r["wall"] for r in res[(w.label, t)]) for t in tools}
        print(f"{w.label:<24}" + "".join(f"{rate[t]:>13,.0f}" for t in tools))
        alone = {t: w.count / statistics.median(r["run"] for r in res[(w.label, t)])
                 for t in tools if "run" in res[(w.label, t)][0]}
        if alone:
            print(f"{'  jobtui run alone':<24}" + "".join(f"{alone[t]:>13,.0f}" if t in alone else f"{'':>13}"
                                                        for t in tools))
        if "bare" in rate:  # the bare loop as the others are measured: its interpreter's start and exit included
            rate["bare proc"] = w.count / statistics.median(r["proc"] for r in res[(w.label, "bare")])
            print(f"{'  bare as a whole process':<24}" + "".join(
                f"{rate['bare proc']:>13,.0f}" if t == "bare" else f"{'':>13}" for t in tools))
        if w.kind == "sleep":
            ideal = w.count / WORKERS * 0.1
            print(f"{'  overhead ms/command':<24}" + "".join(
                f"{(w.count / rate[t] - ideal) / w.count * WORKERS * 1000:>13.1f}" for t in tools))
        for t in ("foreach", "add", "foreach@base", "add@base"):
            if t in rate:
                ratios = ", ".join(f"{rate[t] / rate[p]:.2f}x {p}" for p in ("bare", "bare proc", "tsp", "parallel", "xargs")
                                   if p in rate)
                print(f"  {t}: {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
