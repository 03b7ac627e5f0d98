"""`jobtui serve` under load (issue 22), each figure beside a baseline measured in the same run.

    python bench/bench_api.py                  # 3 runs of each; wrk installed from Debian if missing
    python bench/bench_api.py --runs 1 --subscribers 200 --jobs 200

1. polls   wrk (2 threads, 100 connections, 3 slices of 10/3 s, alternating with the baseline) on `GET /api/v1/jobs/{id}` (the job detail: the row, its
           stages, files, dependencies) with a Bearer token on `serve --attach` while a `jobtui run` process
           works through demo jobs on the same database, beside a bare FastAPI + aiosqlite endpoint returning the
           same row as JSON (bench/api_baseline.py, no auth) on the same database, interleaved slice by slice:
           requests/s and p99 latency (medians of the slices).
2. sse     N subscribers connected at once to `GET /api/v1/events` of `serve --attach`, then M demo jobs
           submitted (Client.submit_many) and run by a `jobtui run` process (concurrency 8); each
           subscriber must receive every event (submitted, running, completed: 3 per job); delivery latency
           = arrival - the event's time in the database (same host clock); p50/p99 over every delivery, and
           the server's peak RSS.
3. submit  500 jobs through `POST /api/v1/jobs` (20 at once, keep-alive) into a server without a runner,
           beside `Client.submit_many` of 500 in-process: jobs/s.
Medians over runs are printed and written to bench/results/api-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import array
import asyncio
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


async def _subscriber(port: int, token: str, arrivals: dict[int, float], ready: asyncio.Event,
                      connected: list[int], n: int, reconnects: list[int]) -> None:
    """Follow /events as EventSource does: on a dropped connection (a slow reader is cut by the server),
    reconnect with Last-Event-ID."""
    ids = re.compile(rb"(?:^|\n)id: (\d+)\n")
    last: int | None = None
    first = True
    while True:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        resume = "" if last is None else f"Last-Event-ID: {last}\r\n"
        writer.write(f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                     f"Accept: text/event-stream\r\n{resume}\r\n".encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        if first:
            first = False
            connected[0] += 1
            if connected[0] == n:
                ready.set()
        else:
            reconnects[0] += 1
        tail = b""
        try:
            while chunk := await reader.read(1 << 16):
                now = time.time()
                data = tail + chunk
                cut = data.rfind(b"\n\n") + 2  # only whole frames; the rest waits for the next chunk
                for m in ids.finditer(data, 0, cut):
                    last = int(m[1])
                    arrivals.setdefault(last, now)
                tail = data[cut:]
        finally:
            writer.close()


async def _client_process(port: int, token: str, n: int, expected: int, db: str, out: str) -> None:
    """One subscriber process (`--sse-client`): n streams; says `ready`, then writes every delivery's latency."""
    ready = asyncio.Event()
    connected = [0]
    reconnects = [0]
    per: list[dict[int, float]] = [{} for _ in range(n)]
    tasks = [asyncio.create_task(_subscriber(port, token, per[i], ready, connected, n, reconnects)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 120)
    print("ready", flush=True)
    end = time.monotonic() + 300
    while time.monotonic() < end and min(len(a) for a in per) < expected:
        await asyncio.sleep(0.2)  # sleep: waiting for the deliveries to complete
    for t in tasks:
        t.cancel()
    con = sqlite3.connect(db)
    stamps = dict(con.execute("SELECT event_id, ts_ms FROM job_events").fetchall())
    con.close()
    delays = array.array("f", (max(0.0, at * 1000 - stamps[i]) for a in per for i, at in a.items() if i in stamps))
    with open(out, "wb") as f:
        delays.tofile(f)
    print(f"done {sum(1 for a in per if len(a) >= expected)} {reconnects[0]}", flush=True)


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
        cpu0, wall0, peak = cpu_s(server.pid), time.monotonic(), 0.0
        asyncio.run(_submit_many(db, jobs, {"delay": 0, "items": 1}))
        while any(p.poll() is None for p, _ in clients):
            peak = max(peak, rss_mb(server.pid))
            time.sleep(0.2)  # sleep: sampling the server's RSS while the events flow
        cpu, wall = cpu_s(server.pid) - cpu0, time.monotonic() - wall0
        complete = reconnects = 0
        delays = array.array("f")
        for proc, out in clients:
            assert proc.stdout is not None
            _, done, again = proc.stdout.read().split()
            complete, reconnects = complete + int(done), reconnects + int(again)
            with open(out, "rb") as f:
                delays.frombytes(f.read())
    finally:
        stop(server)
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
    ordered = sorted(delays)
    return {"delivery_p50_ms": ordered[len(ordered) // 2], "delivery_p99_ms": ordered[int(len(ordered) * 0.99)],
            "server_rss_mb": peak, "subscribers_complete": complete, "deliveries": len(ordered),
            "reconnects": reconnects, "server_cpu_s": cpu, "wall_s": wall}


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


async def _submit_many(db: str, n: int, params: dict[str, Any] | None = None) -> float:
    client = await Client.open(db, source="bench")
    try:
        t0 = time.perf_counter()
        await client.submit_many([Submission("demo", params or {"delay": 0})] * n)
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
    finally:
        stop(server)
    return {"api_jobs_s": api, "submit_many_jobs_s": asyncio.run(_submit_many(db, n))}


def main() -> None:
    if sys.argv[1:2] == ["--sse-client"]:
        port, token, n, expected, db, out = sys.argv[2:8]
        asyncio.run(_client_process(int(port), token, int(n), int(expected), db, out))
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
