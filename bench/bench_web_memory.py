"""The browser page's memory over a long run: 100 running jobs updating their progress every second (and, with
--burst, short jobs finishing all along), the page left open on the list; sampled every --every seconds: its JS heap
after a forced collection and Blink's (cppgc) heap, DOM nodes and listeners (DevTools protocol), the page's renderer
process's resident memory (the largest renderer), every renderer's and the whole browser's (/proc), and the server's,
with the updates the page received.

    PYTHONPATH=src python bench/bench_web_memory.py [--running 100] [--seconds 3600] [--every 60] [--burst 0]
        [--json samples.jsonl] [--no-network-events]

A real `jobtui serve` with its runner and Debian's headless chromium (Playwright). The jobs are `ticker` jobs
(bench/webmem_app.py): one progress update a second each, for longer than the run. The feed sends one progress
frame a second (every changed running job), as in production. At the end: the median of the samples around 0, 10,
30 and 60 minutes, and each figure's slope (least squares, per hour) over the samples after the first 10 minutes (the
warm-up: the list filling, the JIT settling) and over all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import APPS
from tests.server.browser import ARGS, CHROMIUM, sign_in, submit
from tests.server.conftest import Server, free_port
from tests.server.test_web_memory import burst, measure

ROOT = Path(__file__).resolve().parents[1]

FIGURES = ("heap_kb", "blink_kb", "page_rss_kb", "renderer_rss_kb", "renderer_pss_kb", "browser_rss_kb", "server_rss_kb",
           "nodes", "listeners")


def rss_kb(pid: int, field: str = "Rss") -> float:
    """Return a process's resident memory in KB (`Rss` or `Pss` from /proc/PID/smaps_rollup); 0 once gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def processes(bcdp: Any) -> list[dict[str, Any]]:
    """Return the browser's processes (type and pid) as it reports them."""
    info: list[dict[str, Any]] = bcdp.send("SystemInfo.getProcessInfo")["processInfo"]
    return info


def slope(points: list[tuple[float, float]]) -> float:
    """Return the least-squares slope of (seconds, value) points, per hour (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in points) / var * 3600


def summary(samples: list[dict[str, float]]) -> None:
    """Print the median of the samples around 0, 10, 30 and 60 minutes (within 5 minutes) and each figure's slope.

    Medians, not the nearest sample: one sample in five or so lands while the page is drawing a frame of updates
    (some 400 KB more heap, 2,500 more nodes for a moment), and the one nearest a mark may be that one."""
    print("\nmedian at " + " ".join(f"{f:>16}" for f in FIGURES))
    for minute in (0, 10, 30, 60):
        near = [x for x in samples if abs(x["s"] - minute * 60) <= 300 and x["s"] >= 0]
        if near:
            print(f"{minute:4d} min " + " ".join(f"{statistics.median(x[f] for x in near):16.0f}" for f in FIGURES)
                  + f"  ({len(near)} samples)")
    bins: dict[int, list[dict[str, float]]] = {}
    for x in samples:
        bins.setdefault(int(x["s"] // 300), []).append(x)
    medians = [{f: statistics.median(x[f] for x in b) for f in ("s", *FIGURES)} for b in bins.values()]
    after = [m for m in medians if m["s"] >= 600]
    print(f"slope per hour of the 5-minute medians after 10 min ({len(after)} medians): "
          + ", ".join(f"{f} {slope([(m['s'], m[f]) for m in after]):+.0f}" for f in FIGURES))
    for label, part in (("after 10 min", [s for s in samples if s["s"] >= 600]), ("all", samples)):
        print(f"slope per hour, {label} ({len(part)} samples): "
              + ", ".join(f"{f} {slope([(s['s'], s[f]) for s in part]):+.0f}" for f in FIGURES))
    print(f"updates received: {samples[-1]['updates']:.0f} in {samples[-1]['s']:.0f} s", flush=True)


def main() -> int:
    """Run the benchmark and print its samples."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--running", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--every", type=float, default=60)
    ap.add_argument("--tick", type=float, default=1.0, help="seconds between each job's progress updates")
    ap.add_argument("--burst", type=int, default=0, help="short jobs submitted at each sample (0: none)")
    ap.add_argument("--json", type=Path, default=None, help="also write each sample as a JSON line here")
    ap.add_argument("--no-network-events", action="store_true",
                    help="leave DevTools' Network domain to Playwright alone (the updates are then not counted)")
    a = ap.parse_args()
    env = {"PYTHONPATH": os.pathsep.join([str(APPS), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])}
    srv = Server(str(Path(tempfile.mkdtemp()) / "jobs.db"), free_port(), env=env,
                 args=("--app", "webmem_app", "--concurrency", str(a.running + 16))).start()
    srv.read_admin()
    samples: list[dict[str, float]] = []
    out = a.json.open("a") if a.json else None
    try:
        for _ in range(a.running):  # they outlive the run: the page sees only progress, no transition
            submit(srv, type="ticker", params={"seconds": a.seconds + 3600, "every": a.tick})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            bcdp = browser.new_browser_cdp_session()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            if not a.no_network_events:
                cdp.send("Network.enable")
            got = {"updates": 0}

            def on_message(m: dict[str, Any]) -> None:
                got["updates"] += 1 if m["eventName"] == "job" else len(json.loads(m["data"]).get("jobs", []))

            cdp.on("Network.eventSourceMessageReceived", on_message)
            sign_in(page, srv, srv.admin)
            page.wait_for_selector("body[data-live='on']")
            page.wait_for_selector(f"#rows tr:nth-child({a.running})")
            start = time.monotonic()
            print(f"{'s':>5} {'updates':>8} {'heap KB':>8} {'blink KB':>8} {'page RSS':>9} {'rend RSS':>9} "
                  f"{'rend PSS':>9} {'all RSS':>9} "
                  f"{'srv RSS':>8} {'nodes':>6} {'lstn':>5} {'rows':>5}", flush=True)
            while True:
                m = measure(cdp)
                usage = cdp.send("Runtime.getHeapUsage")  # after measure's collection: Blink's (cppgc) heap too
                procs = processes(bcdp)
                renderers = [int(x["id"]) for x in procs if x["type"] == "renderer"]
                assert srv.proc is not None
                s = {"s": round(time.monotonic() - start, 1), "updates": got["updates"], "heap_kb": m["heap"] / 1024,
                     "blink_kb": usage.get("embedderHeapUsedSize", 0) / 1024,
                     "page_rss_kb": max((rss_kb(r) for r in renderers), default=0),
                     "renderer_rss_kb": sum(rss_kb(r) for r in renderers),
                     "renderer_pss_kb": sum(rss_kb(r, "Pss") for r in renderers),
                     "browser_rss_kb": sum(rss_kb(int(x["id"])) for x in procs),
                     "server_rss_kb": rss_kb(srv.proc.pid), "nodes": m["nodes"], "listeners": m["listeners"],
                     "rows": page.locator("#rows tr").count()}
                samples.append(s)
                if out:
                    out.write(json.dumps(s) + "\n")
                    out.flush()
                print(f"{s['s']:5.0f} {s['updates']:8.0f} {s['heap_kb']:8.0f} {s['blink_kb']:8.0f} {s['page_rss_kb']:9.0f} "
                      f"{s['renderer_rss_kb']:9.0f} "
                      f"{s['renderer_pss_kb']:9.0f} {s['browser_rss_kb']:9.0f} {s['server_rss_kb']:8.0f} "
                      f"{s['nodes']:6.0f} {s['listeners']:5.0f} {s['rows']:5.0f}", flush=True)
                if s["s"] >= a.seconds:
                    break
                if a.burst:
                    burst(srv, a.burst)
                page.wait_for_timeout(a.every * 1000)  # the page runs meanwhile (the sync API's own wait)
            browser.close()
        summary(samples)
    finally:
        srv.stop()
        if out:
            out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
