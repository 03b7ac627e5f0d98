"""The browser page under load: how long a job's transition takes to change its badge in the page with 1,000
jobs listed (p50/p90), and the page's weight (bytes of every request a first load makes; none external).

Baseline, same run, same transitions: the time to the same event reaching a bare SSE client (httpx, in a thread of
this process) on the same stream. The difference is the page's own share (EventSource, JSON, its DOM update).

    PYTHONPATH=src python bench/bench_web.py [--jobs 1000] [--samples 40]

The page lists every job (it follows its 'Load more' pages). A real `jobtui serve --attach` (no runner: the jobs
stay queued, each pause is one transition) and Debian's headless chromium (Playwright). The latency is from the API
call's start to the animation frame after the page's DOM shows the new badge (a MutationObserver put in by the
bench notes it, wall clock): the server's event feed (it polls the database every 0.1 s), the SSE write, the page's
update.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.server.browser import ARGS, CHROMIUM
from tests.server.conftest import Server, free_port


def listen(base: str, token: str, arrived: dict[int, float], stop: threading.Event) -> None:
    """Read the event stream from now; note when each job's `paused` event arrives (epoch seconds)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{base}/api/v1/events", headers=headers, timeout=None) as r:
        kind = ""
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "job":
                ev = json.loads(line[6:])
                if (ev.get("job") or {}).get("status") == "paused":
                    arrived.setdefault(int(ev["job_id"]), time.time())


WATCH = """() => {
  window.__badged = {};
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) {
      const id = n.dataset?.id;
      if (id && !(id in window.__badged) && n.querySelector("[data-status='paused']")) {
        requestAnimationFrame(() => { window.__badged[id] = Date.now(); });
      }
    }
  }).observe(document.getElementById("rows"), { childList: true });
}"""
"""Note, in the page, when a row turns paused: the animation frame after the DOM change (epoch ms)."""


def p90(xs: list[float]) -> float:
    """Return the 90th percentile."""
    return statistics.quantiles(xs, n=10)[8]


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
                arrived: dict[int, float] = {}
                stop = threading.Event()
                threading.Thread(target=listen, args=(srv.base, srv.admin, arrived, stop), daemon=True).start()
                time.sleep(1)  # sleep: the bare client's stream is open before the first transition
                page.evaluate(WATCH)
                lat: list[float] = []
                bare: list[float] = []
                driver: list[float] = []
                for job_id in ids[: a.samples]:
                    t0 = time.time()
                    c.post(f"/jobs/{job_id}/pause")
                    page.wait_for_selector(f"tr[data-id='{job_id}'] [data-status='paused']", timeout=30_000)
                    driver.append((time.time() - t0) * 1000)
                    lat.append(page.evaluate(f"window.__badged[{job_id}]") - t0 * 1000)
                    while job_id not in arrived:
                        time.sleep(0.005)  # sleep: the bare client's thread notes the event
                    bare.append((arrived[job_id] - t0) * 1000)
                stop.set()
                browser.close()
        print(f"jobs listed: {listed} of {a.jobs}; samples: {len(lat)}")
        print(f"transition -> badge (in the page, the frame after the DOM change): median {statistics.median(lat):.0f} ms, "
              f"p90 {p90(lat):.0f} ms, max {max(lat):.0f} ms")
        print(f"transition -> badge seen by Playwright's driver (its own polling added): median "
              f"{statistics.median(driver):.0f} ms, p90 {p90(driver):.0f} ms")
        print(f"transition -> event at a bare SSE client (baseline): median {statistics.median(bare):.0f} ms, "
              f"p90 {p90(bare):.0f} ms")
        own = [x - y for x, y in zip(lat, bare, strict=True)]
        print(f"the page's own share (badge - baseline): median {statistics.median(own):.0f} ms, p90 {p90(own):.0f} ms")
        print(f"page weight (document + scripts + css, uncompressed): {sum(static)} bytes; "
              f"external requests: {len(external)}")
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
