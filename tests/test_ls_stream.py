"""Issue 6, item 7: `ls --json` streams: valid JSON and flat memory with 50,000 jobs (20,000 unless JOBTUI_TEST_FULL=1)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env, jobtui
from tests.sizing import sized

pytestmark = pytest.mark.slow

BIG = sized(20_000, 50_000)
"""Jobs in the big database. Streamed, its peak RSS is that of 1,000 jobs to within 1 MB; every job and its
JSON text held until the end (the bug) took 26 MB more at 20,000 and 141 MB more at 50,000."""
BOUND_KIB = 10 * 1024

MEASURE = """
import resource, sys
from jobtui.cli import main
try:
    main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _many(db: Path, n: int) -> None:
    r = jobtui("submit", "demo", "-p", "api_token=tok-abcdef-123", db=db)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO jobs (type, status, params, priority, stage_names, created_at_ms, updated_at_ms)"
        " SELECT type, status, params, priority, stage_names, created_at_ms, updated_at_ms FROM jobs,"
        " (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)",
        (n - 1,),
    )
    con.commit()
    con.close()


def _ls_json(db: Path, tmp_path: Path) -> tuple[str, int]:
    """Run `ls --json` in a process of its own; return its output and its peak RSS in KiB."""
    rss = tmp_path / f"rss-{db.stem}"
    out = subprocess.run([sys.executable, "-c", MEASURE, str(rss), "--db", str(db), "ls", "--json"],
                         capture_output=True, text=True, env=cli_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout, int(rss.read_text())


def test_ls_json_of_50k_jobs_is_valid_json_in_bounded_memory(tmp_path: Path) -> None:
    """It held every job (and its JSON text) at once: 2.3 s and 433 MB for 50,000 jobs."""
    small, big = tmp_path / "small.db", tmp_path / "big.db"
    _many(small, 1_000)
    _many(big, BIG)
    text_small, rss_small = _ls_json(small, tmp_path)
    text_big, rss_big = _ls_json(big, tmp_path)
    jobs = json.loads(text_big)
    assert len(jobs) == BIG and jobs[0]["job_id"] == 1 and jobs[-1]["job_id"] == BIG
    assert all(j["params"]["api_token"] == "***" for j in jobs[:: 997])
    assert len(json.loads(text_small)) == 1_000
    # 20x (50x) the jobs, about the same memory: the whole list would take tens (hundreds) of MB more.
    print(f"peak RSS: 1k jobs {rss_small} KiB, {BIG} jobs {rss_big} KiB")
    assert rss_big - rss_small < BOUND_KIB, (rss_small, rss_big)
