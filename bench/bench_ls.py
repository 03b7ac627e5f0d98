"""`jobtui ls --json` with many jobs: wall time and peak memory, streamed vs the whole list at once.

    python bench/bench_ls.py                # 3 runs at 50,000 jobs
    python bench/bench_ls.py --runs 5 --jobs 100000

One database of N queued `demo` jobs (rows copied with SQL, so the fill is quick). Each run starts a
fresh Python process per variant and reports its wall time and peak RSS (ru_maxrss):
  ls --json     the real command (`jobtui.cli.main(["ls", "--json"])`), output to /dev/null;
  whole list    the same JSON built the way `ls --json` did before it streamed (same run baseline):
                `json.dumps([j.to_dict() for j in await client.list_jobs()], indent=2)`.
Medians over runs, variants interleaved run by run.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LS = """
import os, resource, sys, time
sys.stdout = open(os.devnull, "w")
from jobtui.cli import main
t0 = time.perf_counter()
try:
    main(["--db", sys.argv[1], "ls", "--json"])
except SystemExit:
    pass
sys.stderr.write(f"{time.perf_counter() - t0} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""

WHOLE = """
import asyncio, json, os, resource, sys, time
from jobtui.client import Client
async def go():
    client = await Client.open(sys.argv[1], create=False)
    try:
        with open(os.devnull, "w") as out:
            out.write(json.dumps([j.to_dict() for j in await client.list_jobs()], indent=2))
    finally:
        await client.close()
t0 = time.perf_counter()
asyncio.run(go())
sys.stderr.write(f"{time.perf_counter() - t0} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""


def _fill(db: Path, n: int) -> None:
    subprocess.run([sys.executable, "-m", "jobtui", "--db", str(db), "submit", "demo", "-p", "delay=0"], check=True,
                   capture_output=True)
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO jobs (type, status, params, priority, stage_names, created_at_ms, updated_at_ms)"
        " SELECT type, status, params, priority, stage_names, created_at_ms, updated_at_ms FROM jobs,"
        " (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)",
        (n - 1,),
    )
    con.commit()
    con.close()


def _measure(code: str, db: Path) -> tuple[float, float]:
    r = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True)
    seconds, rss_kib = r.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(rss_kib) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=50_000)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jobtui-bench-ls-"))
    try:
        db = folder / "ls.db"
        _fill(db, args.jobs)
        res: dict[str, list[tuple[float, float]]] = {"ls --json (streamed)": [], "whole list (baseline)": []}
        for run in range(args.runs):
            for name, code in (("ls --json (streamed)", LS), ("whole list (baseline)", WHOLE)):
                res[name].append(_measure(code, db))
                print(f"run {run + 1}/{args.runs}  {name:<22} {res[name][-1][0]:6.2f} s  {res[name][-1][1]:6.0f} MB",
                      flush=True)
        print(f"\n{args.jobs} jobs, median of {args.runs}:")
        for name, xs in res.items():
            print(f"  {name:<22} {statistics.median(x[0] for x in xs):6.2f} s  "
                  f"{statistics.median(x[1] for x in xs):6.0f} MB peak RSS")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
