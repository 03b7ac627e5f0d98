"""The browser page's memory while jobs run: 100 running jobs updating their progress (and, with --burst, short
jobs finishing all along), the page left open on the list; its JS heap, DOM nodes and listeners sampled after a
forced collection (DevTools protocol), with the updates it received.

    PYTHONPATH=src python bench/bench_web_memory.py [--running 100] [--seconds 120] [--every 20] [--burst 300]

A real `jobtui serve` with its runner and Debian's headless chromium (Playwright). The feed sends one progress
frame a second (every changed running job), as in production: an hour is 3,600 frames, this samples minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.server.browser import ARGS, CHROMIUM, sign_in, submit
from tests.server.conftest import Server, free_port
from tests.server.test_web_memory import burst, measure


def main() -> int:
    """Run the benchmark and print its samples."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--running", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--every", type=float, default=20)
    ap.add_argument("--burst", type=int, default=0, help="short jobs submitted at each sample (0: none)")
    a = ap.parse_args()
    srv = Server(str(Path(tempfile.mkdtemp()) / "jobs.db"), free_port(),
                 args=("--concurrency", str(a.running + 16))).start()
    srv.read_admin()
    try:
        for _ in range(a.running):
            submit(srv, type="demo", params={"delay": 3600, "items": 10_000})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            cdp.send("Network.enable")
            got = {"updates": 0}

            def on_message(m: dict[str, Any]) -> None:
                got["updates"] += 1 if m["eventName"] == "job" else len(json.loads(m["data"]).get("jobs", []))

            cdp.on("Network.eventSourceMessageReceived", on_message)
            sign_in(page, srv, srv.admin)
            page.wait_for_selector("body[data-live='on']")
            start = time.monotonic()
            print(f"{'s':>5} {'updates':>8} {'heap KB':>8} {'nodes':>7} {'listeners':>9} {'rows':>5}")
            while True:
                m = measure(cdp)
                rows = page.locator("#rows tr").count()
                print(f"{time.monotonic() - start:5.0f} {got['updates']:8d} {m['heap'] / 1024:8.0f} {m['nodes']:7.0f} "
                      f"{m['listeners']:9.0f} {rows:5d}", flush=True)
                if time.monotonic() - start >= a.seconds:
                    break
                if a.burst:
                    burst(srv, a.burst)
                page.wait_for_timeout(a.every * 1000)  # the page runs meanwhile (the sync API's own wait)
            browser.close()
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
