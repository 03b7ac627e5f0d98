"""What a TAB costs: job-id completion of `jobtui completion`'s scripts, beside what argcomplete would pay.

    python bench/bench_completion.py                # 7 runs at 10,000 jobs
    python bench/bench_completion.py --runs 11 --jobs 100000

One database of N queued `demo` jobs (rows copied with SQL). Each run times, as fresh processes, interleaved:
  ids (TAB)      what the scripts run on `jobtui show <TAB>`: store/completion_values.py under `python -I -S`
                 (one read-only query, the newest 500 ids);
  bare python    `python -I -S -c pass`: the floor of any Python-run completion (same run baseline);
  parser         importing jobtui and building its parser, which argcomplete does on every TAB before it can
                 list anything (the design not taken; same run baseline).
Medians over runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELPER = Path(__file__).resolve().parent.parent / "src/jobtui/store/completion_values.py"


def _fill(db: Path, n: int) -> None:
    subprocess.run([sys.executable, "-m", "jobtui", "--db", str(db), "submit", "demo", "-p", "delay=0"], check=True,
                   capture_output=True)
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO jobs (type, status, params, priority, stage_names, created_at_ms, updated_at_ms)"
        " SELECT type, status, params, priority, stage_names, created_at_ms, updated_at_ms FROM jobs,"
        " (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)", (n - 1,))
    con.commit()
    con.close()


def _time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    elapsed = (time.perf_counter() - t0) * 1000
    assert r.stderr == "", r.stderr
    return elapsed


def main() -> None:
    """Fill a database, time the three variants run by run, print medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=10_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobtui-bench-completion-") as d:
        db = Path(d) / "c.db"
        _fill(db, a.jobs)
        out = subprocess.run([sys.executable, "-I", "-S", str(HELPER), "ids", str(db), "", "plain"],
                             capture_output=True, text=True, check=True).stdout.split()
        assert len(out) == min(500, a.jobs), len(out)
        variants = {
            "ids (TAB)": [sys.executable, "-I", "-S", str(HELPER), "ids", str(db), "", "plain"],
            "bare python": [sys.executable, "-I", "-S", "-c", "pass"],
            "parser": [sys.executable, "-c", "from jobtui.cli import build_parser; build_parser()"],
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(a.runs):
            for name, argv in variants.items():
                times[name].append(_time(argv))
    print(f"{a.jobs:,} jobs, {a.runs} runs, medians:")
    for name, ts in times.items():
        print(f"  {name:12} {statistics.median(ts):7.1f} ms")


if __name__ == "__main__":
    main()
