"""`jobtui serve` under load (issue 22), each figure beside a baseline measured in the same run.

    python bench/bench_api.py                  # 3 runs of each; wrk installed from Debian if missing
    python bench/bench_api.py --runs 1 --subscribers 200 --jobs 200

1. polls   wrk (2 threads, 100 connections, 3 slices of 10/3 s, alternating with the baseline) on `GET /api/v1/jobs/{id}` (the job detail: the row, its
           stages, files, dependencies) with a Bearer token on `serve --attach` while a `jobtui run` process
           works through demo jobs on the same database, beside a bare FastAPI + aiosqlite endpoint returning the
           same row as JSON (bench/api_baseline.py, no auth) on the same database, interleaved slice by slice:
           requests/s and p99 latency (medians of the slices).
2. sse     N subscribers connected at once to `GET /api/v1/events` of `serve --attach`, then M demo jobs
           submitted (Client.submit_many, 20 a transaction) and run by a `jobtui run` process (concurrency 8);
           each subscriber must receive every event exactly once (submitted, running, completed: 3 per job;
           checked against the database's events); delivery latency = arrival - the event's time in the
           database (same host clock); p50/p99 over every delivery, and the server's peak RSS. The subscribers
           are asyncio Protocols in client processes that count frames with bytes methods per received chunk
           (a Python loop per event in the client took more CPU than the server: p99 12 s -> 1.4 s, same load).
3. submit  500 jobs through `POST /api/v1/jobs` (20 at once, keep-alive) into a server without a runner, then
           500 through `POST /api/v1/jobs:batch` (100 a request, 4 at once), beside `Client.submit_many` of 500
           in-process (one transaction): jobs/s.
Medians over runs are printed and written to bench/results/api-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import bisect
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from jobtui.client import Client, Submission

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    """Return wrk's path, installing the Debian package when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        path = shutil.which("wrk")
    if path is None:
        sys.exit("bench_api: wrk is needed (apt-get install wrk)")
    return path


def wait_up(url: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"bench_api: server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # sleep: polling a subprocess coming up
    sys.exit("bench_api: server did not come up")


def serve(db: str, port: int, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "jobtui", "--db", db, "serve", "--port", str(port), *args],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """Return the CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, token: str | None, seconds: int) -> tuple[float, float]:
    """Return (requests/s, p99 ms) of wrk on `url`."""
    cmd = [ensure_wrk(), "-t2", "-c100", f"-d{seconds}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert m, out
    p99 = float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        sys.exit(f"bench_api: {non2xx[1]} error replies from {url}")
    return rate, p99


async def _setup(db: str) -> tuple[str, int]:
    client = await Client.open(db, source="bench")
    try:
        token = await client.add_token("bench", "admin")
        job_id = await client.submit("demo", {"delay": 0})
        await client.submit_many([Submission("demo", {"delay": 2, "items": 40})] * 200)
        return token, job_id
    finally:
        await client.close()


SLICES = 3
"""The poll measurement alternates API and baseline this many times (medians of the slices)."""


def bench_polls(tmp: Path, seconds: int) -> dict[str, float]:
    db = str(tmp / "polls.db")
    token, job_id = asyncio.run(_setup(db))
    port, base_port = free_port(), free_port()
    server = serve(db, port, "--attach")
    runner = subprocess.Popen([sys.executable, "-m", "jobtui", "--db", db, "run", "--quiet", "--concurrency", "4"],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = subprocess.Popen([sys.executable, str(HERE / "api_baseline.py"), db, str(base_port)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_up(f"http://127.0.0.1:{base_port}/row/{job_id}", base)
        # Interleaved in slices: on a shared machine the load drifts, and both sides should see the same drift.
        api: list[tuple[float, float]] = []
        base_: list[tuple[float, float]] = []
        for _ in range(SLICES):
            api.append(wrk(f"http://127.0.0.1:{port}/api/v1/jobs/{job_id}", token, max(2, seconds // SLICES)))
            base_.append(wrk(f"http://127.0.0.1:{base_port}/row/{job_id}", None, max(2, seconds // SLICES)))
        api_rate, api_p99 = (statistics.median(x[k] for x in api) for k in (0, 1))
        base_rate, base_p99 = (statistics.median(x[k] for x in base_) for k in (0, 1))
    finally:
        stop(server)
        stop(base)
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
    return {"api_rps": api_rate, "api_p99_ms": api_p99, "base_rps": base_rate, "base_p99_ms": base_p99}


class _Stream(asyncio.Protocol):
    """One /events subscriber, as cheap per byte as Python allows (the load must not come from the client).

    Per received chunk it keeps (arrival time, last event id, events in the chunk), counted with bytes
    methods in C, not per event in Python; the events' ids and times are matched with the database's after
    the run (`_latencies`). On a dropped connection (a slow reader is cut by the server) it reconnects with
    Last-Event-ID, as EventSource does."""

    def __init__(self, owner: _Subscribers, first: bool) -> None:
        self.owner = owner
        self.first = first
        self.head = True
        self.tail = b""

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.tail + data if self.tail else data
        if self.head:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.tail = buf
                return
            self.head = False
            buf = b"\n" + buf[end + 4:]
            self.owner.connected(self.first)
        cut = buf.rfind(b"\n\n") + 2  # whole frames only; the rest waits for the next chunk
        if cut >= 2:
            count = buf.count(b"\nid: ", 0, cut)
            if count:
                at = buf.rfind(b"\nid: ", 0, cut) + 5
                last = int(buf[at:buf.index(b"\n", at)])
                self.owner.chunks.extend((now, float(last), float(count)))
                self.owner.last = last
        self.tail = buf[max(cut - 1, 0):] if cut >= 2 else buf

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost.set()


class _Subscribers:
    """One subscriber's chunks over its connections (it reconnects when the server cuts it)."""

    def __init__(self, ready: Callable[[], None]) -> None:
        self.chunks = array.array("d")
        self.last: int | None = None
        self.reconnects = 0
        self.lost = asyncio.Event()
        self._ready = ready

    def connected(self, first: bool) -> None:
        if first:
            self._ready()
        else:
            self.reconnects += 1

    async def follow(self, port: int, token: str) -> None:
        loop = asyncio.get_running_loop()
        first = True
        while True:
            self.lost.clear()
            transport, _ = await loop.create_connection(lambda f=first: _Stream(self, f), "127.0.0.1", port)
            resume = "" if self.last is None else f"Last-Event-ID: {self.last}\r\n"
            transport.write(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n{resume}\r\n".encode())
            first = False
            try:
                await self.lost.wait()
            finally:
                transport.close()

    def received(self) -> int:
        return int(sum(self.chunks[2::3]))


KINDS = ("queued", "running", "completed")
"""The statuses an event of the SSE part moves a job to (its `submitted` and two transitions)."""


def _latencies(subs: list[_Subscribers], events: list[tuple[int, int, str]]) -> tuple[array.array[float], int]:
    """Return every delivery's latency (arrival - the event's time in the database; the event's KINDS index
    added as thousands of seconds, split again by `bench_sse`) and how many subscribers got every event exactly
    once: each chunk must hold exactly the database's events after the previous one."""
    ids = [e[0] for e in events]
    complete = 0
    delays = array.array("f")
    for sub in subs:
        ok, prev = True, 0
        c = sub.chunks
        for k in range(0, len(c), 3):
            now, last, count = c[k], int(c[k + 1]), int(c[k + 2])
            lo, hi = bisect.bisect_right(ids, prev), bisect.bisect_right(ids, last)
            ok = ok and hi - lo == count and last > prev
            delays.extend(max(0.0, now * 1000 - ts) + KIND_MS * KINDS.index(st) for _, ts, st in events[lo:hi])
            prev = last
        complete += ok and prev == ids[-1]
    return delays, complete


async def _client_process(port: int, token: str, n: int, expected: int, db: str, out: str) -> None:
    """One subscriber process (`--sse-client`): n streams; says `ready`, then writes every delivery's latency."""
    ready = asyncio.Event()
    connected = [0]

    def one_ready() -> None:
        connected[0] += 1
        if connected[0] == n:
            ready.set()

    subs = [_Subscribers(one_ready) for _ in range(n)]
    tasks = [asyncio.create_task(s.follow(port, token)) for s in subs]
    await asyncio.wait_for(ready.wait(), 120)
    print("ready", flush=True)
    end = time.monotonic() + 300
    while time.monotonic() < end and min(s.received() for s in subs) < expected:
        await asyncio.sleep(0.2)  # sleep: waiting for the deliveries to complete
    busy = time.process_time()  # the client's CPU while receiving (the matching below is not part of it)
    for t in tasks:
        t.cancel()
    con = sqlite3.connect(db)
    events = con.execute("SELECT event_id, ts_ms, to_status FROM job_events ORDER BY event_id").fetchall()
    con.close()
    delays, complete = _latencies(subs, events)
    with open(out, "wb") as f:
        delays.tofile(f)
    print(f"done {complete} {sum(s.reconnects for s in subs)} {busy:.2f}", flush=True)


KIND_MS = 1_000_000.0
"""A delivery's kind rides in its latency as this many ms per KINDS index (one float array per client)."""
SSE_SUBMIT_TX = 20
"""Jobs per submit transaction in the SSE part."""


def bench_sse(tmp: Path, subscribers: int, jobs: int, procs: int = 4) -> dict[str, float]:
    """Subscribers in `procs` client processes (one Python process cannot read a thousand streams fast enough)."""
    db = str(tmp / "sse.db")
    token, _ = asyncio.run(_setup_token_only(db))
    port = free_port()
    server = serve(db, port, "--attach")
    runner = subprocess.Popen([sys.executable, "-m", "jobtui", "--db", db, "run", "--quiet", "--concurrency", "8"],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients: list[tuple[subprocess.Popen[str], str]] = []
    try:
        for k in range(procs):
            out = str(tmp / f"lat{k}.f32")
            proc = subprocess.Popen([sys.executable, __file__, "--sse-client", str(port), token,
                                     str(subscribers // procs), str(jobs * 3), db, out],
                                    env=ENV, stdout=subprocess.PIPE, text=True)
            clients.append((proc, out))
        for proc, _ in clients:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        cpu0, run0, wall0, peak = cpu_s(server.pid), cpu_s(runner.pid), time.monotonic(), 0.0
        # In transactions of 20, as API clients submit: an event's time is stamped in its transaction, so one
        # transaction of 1,000 (0.8 s under load) would add its own length to every `submitted` delivery.
        asyncio.run(_submit_many(db, jobs, {"delay": 0, "items": 1}, per_tx=SSE_SUBMIT_TX))
        while any(p.poll() is None for p, _ in clients):
            peak = max(peak, rss_mb(server.pid))
            time.sleep(0.2)  # sleep: sampling the server's RSS while the events flow
        cpu, runner_cpu, wall = cpu_s(server.pid) - cpu0, cpu_s(runner.pid) - run0, time.monotonic() - wall0
        complete = reconnects = 0
        clients_cpu = 0.0
        delays = array.array("f")
        for proc, out in clients:
            assert proc.stdout is not None
            _, done, again, busy = proc.stdout.read().split()
            complete, reconnects = complete + int(done), reconnects + int(again)
            clients_cpu += float(busy)
            with open(out, "rb") as f:
                delays.frombytes(f.read())
    finally:
        stop(server)
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
    by_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    for d in delays:
        by_kind[KINDS[int(d // KIND_MS)]].append(d % KIND_MS)
    ordered = sorted(d % KIND_MS for d in delays)
    kinds = {f"p99_{k}_ms": sorted(v)[int(len(v) * 0.99)] for k, v in by_kind.items() if v}
    return {"delivery_p50_ms": ordered[len(ordered) // 2], "delivery_p99_ms": ordered[int(len(ordered) * 0.99)],
            **kinds,
            "server_rss_mb": peak, "subscribers_complete": complete, "deliveries": len(ordered),
            "reconnects": reconnects, "server_cpu_s": cpu, "runner_cpu_s": runner_cpu, "clients_cpu_s": clients_cpu,
            "wall_s": wall}


async def _setup_token_only(db: str) -> tuple[str, int]:
    client = await Client.open(db, source="bench")
    try:
        return await client.add_token("bench", "admin"), 0
    finally:
        await client.close()


async def _submit_api(port: int, token: str, n: int) -> float:
    sem = asyncio.Semaphore(20)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1",
                                 headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=20)) as c:
        async def one() -> None:
            async with sem:
                r = await c.post("/jobs", json={"type": "demo", "params": {"delay": 0}})
                assert r.status_code == 201, r.text

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - t0)


async def _submit_batch(port: int, token: str, n: int, per: int) -> float:
    """Submit n demo jobs through `POST /api/v1/jobs:batch`, `per` a request, 4 requests at once; return jobs/s."""
    sem = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        async def one(k: int) -> None:
            async with sem:
                r = await c.post("/jobs:batch", json={"jobs": [{"type": "demo", "params": {"delay": 0}}] * k})
                assert r.status_code == 201, r.text

        t0 = time.perf_counter()
        await asyncio.gather(*(one(min(per, n - k)) for k in range(0, n, per)))
        return n / (time.perf_counter() - t0)


async def _submit_many(db: str, n: int, params: dict[str, Any] | None = None, per_tx: int | None = None) -> float:
    """Submit n demo jobs with `Client.submit_many`, `per_tx` a transaction (default: all in one); return jobs/s."""
    client = await Client.open(db, source="bench")
    try:
        t0 = time.perf_counter()
        step = per_tx or n
        for k in range(0, n, step):
            await client.submit_many([Submission("demo", params or {"delay": 0})] * min(step, n - k))
        return n / (time.perf_counter() - t0)
    finally:
        await client.close()


def bench_submit(tmp: Path, n: int) -> dict[str, float]:
    db = str(tmp / "submit.db")
    token, _ = asyncio.run(_setup_token_only(db))
    port = free_port()
    server = serve(db, port, "--attach")
    try:
        api = asyncio.run(_submit_api(port, token, n))
        batch = asyncio.run(_submit_batch(port, token, n, BATCH))
    finally:
        stop(server)
    return {"api_jobs_s": api, "api_batch_jobs_s": batch, "submit_many_jobs_s": asyncio.run(_submit_many(db, n))}


BATCH = 100
"""Jobs per `POST /jobs:batch` request in the submit part."""


def main() -> None:
    if sys.argv[1:2] == ["--sse-client"]:
        port, token, n, expected, db, out = sys.argv[2:8]
        job = _client_process(int(port), token, int(n), int(expected), db, out)
        try:
            import uvloop  # uvicorn[standard]'s loop, in C: the subscribers' own cost kept low
        except ImportError:
            asyncio.run(job)
        else:
            uvloop.run(job)
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--subscribers", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--submits", type=int, default=500)
    a = p.parse_args()
    ensure_wrk()
    runs: list[dict[str, Any]] = []
    for i in range(a.runs):
        tmp = Path(tempfile.mkdtemp(prefix="bench_api-"))
        try:
            row: dict[str, Any] = {**bench_polls(tmp, a.seconds), **bench_sse(tmp, a.subscribers, a.jobs),
                                   **bench_submit(tmp, a.submits)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"run {i + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)
        runs.append(row)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("median: " + ", ".join(f"{k}={v:.1f}" for k, v in med.items()))
    print(f"polls: {med['api_rps']:.0f}/s vs baseline {med['base_rps']:.0f}/s ({med['api_rps'] / med['base_rps']:.2f}x),"
          f" p99 {med['api_p99_ms']:.1f} ms vs {med['base_p99_ms']:.1f} ms")
    out = HERE / "results" / f"api-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(a), "runs": runs, "median": med}, indent=2))


if __name__ == "__main__":
    main()
