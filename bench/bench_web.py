"""The browser page under load: how long a job's transition takes to change its badge in the page with 1,000
jobs listed (p50/p90), and the page's weight (bytes of every request a first load makes; none external).

    PYTHONPATH=src python bench/bench_web.py [--jobs 1000] [--samples 40]

The page lists every job (it follows its 'Load more' pages). A real `jobtui serve --attach` (no runner: the jobs stay queued, each pause is one transition) and Debian's
headless chromium (Playwright). The latency is from the API call's start to the page's DOM showing the new badge:
the server's event feed (it polls the database every 0.1 s), the SSE write, the page's update.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.server.browser import ARGS, CHROMIUM
from tests.server.conftest import Server, free_port


def main() -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=40)
    a = ap.parse_args()
    srv = Server(str(Path(tempfile.mkdtemp()) / "jobs.db"), free_port(), args=("--attach",)).start()
    srv.read_admin()
    try:
        with httpx.Client(base_url=f"{srv.base}/api/v1", headers={"Authorization": f"Bearer {srv.admin}"},
                          timeout=30) as c:
            ids = [c.post("/jobs", json={"type": "demo"}).json()["job_id"] for _ in range(a.jobs)]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                sizes: list[int] = []
                urls: list[str] = []

                def seen(r: Any) -> None:
                    urls.append(r.url)
                    if r.status == 200 and r.request.resource_type in ("document", "script", "stylesheet"):
                        sizes.append(len(r.body()))

                page.goto(f"{srv.base}/#token={srv.admin}")  # fills the sign-in form; a person presses Sign in
                with page.expect_navigation():
                    page.click("#sign-in")
                page.on("response", seen)  # one load of the page, signed in
                page.reload()
                page.wait_for_selector("body[data-live='on']")
                page.wait_for_selector(f"#rows tr:nth-child({min(a.jobs, 500)})")  # (the page's CSP forbids eval)
                while (n := page.locator("#rows tr").count()) < a.jobs:  # every job listed: follow the pages
                    page.click("#more")
                    page.wait_for_selector(f"#rows tr:nth-child({n + 1})")
                listed = page.locator("#rows tr").count()
                static = sizes
                external = [u for u in urls if not u.startswith(srv.base)]
                lat: list[float] = []
                for job_id in ids[: a.samples]:
                    t0 = time.perf_counter()
                    c.post(f"/jobs/{job_id}/pause")
                    page.wait_for_selector(f"tr[data-id='{job_id}'] [data-status='paused']", timeout=30_000)
                    lat.append((time.perf_counter() - t0) * 1000)
                browser.close()
        q = statistics.quantiles(lat, n=10)
        print(f"jobs listed: {listed} of {a.jobs}; samples: {len(lat)}")
        print(f"transition -> badge: median {statistics.median(lat):.0f} ms, p90 {q[8]:.0f} ms, max {max(lat):.0f} ms")
        print(f"page weight (document + scripts + css, uncompressed): {sum(static)} bytes; "
              f"external requests: {len(external)}")
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
