"""Which PostgreSQL driver for the store: psycopg 3 (async) or asyncpg, measured on jobtui's workload.

    python bench/bench_pg_drivers.py              # 5 runs of each, interleaved
    python bench/bench_pg_drivers.py --runs 3

Starts a throwaway PostgreSQL cluster (tests/backends.py: initdb + pg_ctl in a temporary folder,
default fsync), one fresh database per driver per run, over TCP to 127.0.0.1. Three measurements,
each the operation the PostgreSQL store would make:
  claim    300 claims in a row, each its own transaction: UPDATE ... WHERE job_id IN (SELECT ...
           ORDER BY priority DESC, created_at_ms, job_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING
           the job row, then SELECT its stage rows (as Store.claim does); claims/s.
  commit   60 group commits, each one transaction of 100 item upserts (INSERT ... ON CONFLICT DO
           UPDATE) + 100 stage UPDATEs + 1 fence check, sent with executemany (asyncpg: its
           executemany; psycopg: cursor.executemany, which pipelines); commits/s.
  notify   200 LISTEN/NOTIFY round trips between two connections (a submit waking a runner):
           median latency in ms from NOTIFY sent to the listener's callback.
Reported: the median over runs of each figure per driver; runs alternate drivers so machine noise
hits both alike. Results also go to bench/results/pg-drivers-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.backends import PgCluster, start_cluster  # noqa: E402  (importable only after the sys.path line)

CLAIMS = 300
COMMITS = 60
BATCH = 100
NOTIFIES = 200

SCHEMA = """
CREATE TABLE jobs (job_id bigint PRIMARY KEY, type text NOT NULL, status text NOT NULL, params text NOT NULL,
  priority int NOT NULL DEFAULT 0, created_at_ms bigint NOT NULL, updated_at_ms bigint NOT NULL,
  started_at_ms bigint, lease_owner text);
CREATE INDEX jobs_claim ON jobs (status, priority DESC, created_at_ms, job_id);
CREATE TABLE stages (job_id bigint NOT NULL, stage_index int NOT NULL, name text NOT NULL,
  status text NOT NULL DEFAULT 'pending', output text, state text, items_done int NOT NULL DEFAULT 0,
  checkpoint_at_ms bigint, PRIMARY KEY (job_id, stage_index));
CREATE TABLE items (job_id bigint NOT NULL, stage_index int NOT NULL, key text NOT NULL, status text NOT NULL,
  result text, attempts int NOT NULL DEFAULT 1, updated_at_ms bigint NOT NULL,
  PRIMARY KEY (job_id, stage_index, key));
CREATE TABLE runners (runner_id text PRIMARY KEY, heartbeat_at_ms bigint NOT NULL);
INSERT INTO runners VALUES ('r1', 0);
INSERT INTO jobs SELECT g, 'bench', 'queued', '{}', 0, g, g FROM generate_series(1, 2000) g;
INSERT INTO stages (job_id, stage_index, name) SELECT g, s, 's' || s FROM generate_series(1, 2000) g,
  generate_series(0, 2) s;
"""

CLAIM = (
    "UPDATE jobs SET status = 'running', lease_owner = {r}, started_at_ms = coalesce(started_at_ms, {now}),"
    " updated_at_ms = {now} WHERE job_id IN (SELECT job_id FROM jobs WHERE status = 'queued'"
    " ORDER BY priority DESC, created_at_ms, job_id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING job_id, type, status, params, priority, created_at_ms"
)
STAGES = "SELECT stage_index, name, status, output, state FROM stages WHERE job_id = ANY({ids}) ORDER BY job_id, stage_index"
ITEM = (
    "INSERT INTO items (job_id, stage_index, key, status, result, attempts, updated_at_ms)"
    " VALUES ({a}, {b}, {c}, 'done', {d}, 1, {e}) ON CONFLICT (job_id, stage_index, key) DO UPDATE SET"
    " status = excluded.status, result = excluded.result, attempts = items.attempts + 1,"
    " updated_at_ms = excluded.updated_at_ms"
)
STAGE = "UPDATE stages SET items_done = {a}, checkpoint_at_ms = {b} WHERE job_id = {c} AND stage_index = {d}"
FENCE = "SELECT 1 FROM runners WHERE runner_id = {a}"


def _asyncpg(sql: str) -> str:
    n = iter(range(1, 100))
    names = ("r", "now", "ids", "a", "b", "c", "d", "e")
    mapping: dict[str, str] = {}
    for name in names:
        if "{" + name + "}" in sql:
            mapping[name] = f"${next(n)}"
    # The same name used twice shares one positional parameter.
    return sql.format(**{k: mapping.get(k, "") for k in names})


def _psycopg(sql: str) -> str:
    return sql.format(**{k: f"%({k})s" for k in ("r", "now", "ids", "a", "b", "c", "d", "e")})


def _rows(i: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = int(time.time() * 1000)
    items = [(1 + (i % 50), 1, f"k{i}-{j}", json.dumps({"n": j}), now) for j in range(BATCH)]
    stages = [(j, now, 1 + j, 1) for j in range(BATCH)]
    return items, stages


# ------------------------------------------------------------------------------------------ asyncpg
async def bench_asyncpg(url: str) -> dict[str, float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    listener = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA)
        claim, stages = _asyncpg(CLAIM), _asyncpg(STAGES)
        t0 = time.perf_counter()
        for _ in range(CLAIMS):
            async with conn.transaction():
                now = int(time.time() * 1000)
                rows = await conn.fetch(claim, "r1", now)
                await conn.fetch(stages, [r["job_id"] for r in rows])
        claims = CLAIMS / (time.perf_counter() - t0)

        item, stage, fence = _asyncpg(ITEM), _asyncpg(STAGE), _asyncpg(FENCE)
        t0 = time.perf_counter()
        for i in range(COMMITS):
            items, st = _rows(i)
            async with conn.transaction():
                await conn.fetchval(fence, "r1")
                await conn.executemany(item, items)
                await conn.executemany(stage, st)
        commits = COMMITS / (time.perf_counter() - t0)

        got: asyncio.Queue[float] = asyncio.Queue()
        await listener.add_listener("jobtui_bench", lambda *a: got.put_nowait(time.perf_counter()))
        lat: list[float] = []
        for i in range(NOTIFIES):
            sent = time.perf_counter()
            await conn.execute(f"NOTIFY jobtui_bench, '{i}'")
            lat.append((await asyncio.wait_for(got.get(), 10) - sent) * 1000)
        return {"claims_per_s": claims, "commits_per_s": commits, "notify_ms": statistics.median(lat)}
    finally:
        await listener.close()
        await conn.close()


# ------------------------------------------------------------------------------------------ psycopg
async def bench_psycopg(url: str) -> dict[str, float]:
    import psycopg

    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    listener = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await conn.execute(SCHEMA)  # type: ignore[arg-type]
        claim, stages = _psycopg(CLAIM), _psycopg(STAGES)
        t0 = time.perf_counter()
        for _ in range(CLAIMS):
            async with conn.transaction():
                now = int(time.time() * 1000)
                cur = await conn.execute(claim, {"r": "r1", "now": now})  # type: ignore[arg-type]
                rows = await cur.fetchall()
                cur = await conn.execute(stages, {"ids": [r[0] for r in rows]})  # type: ignore[arg-type]
                await cur.fetchall()
        claims = CLAIMS / (time.perf_counter() - t0)

        names = ("a", "b", "c", "d", "e")
        item, stage, fence = _psycopg(ITEM), _psycopg(STAGE), _psycopg(FENCE)
        t0 = time.perf_counter()
        for i in range(COMMITS):
            items, st = _rows(i)
            async with conn.transaction():
                cur = await conn.execute(fence, {"a": "r1"})  # type: ignore[arg-type]
                await cur.fetchone()
                async with conn.cursor() as c:
                    await c.executemany(item, [dict(zip(names, r, strict=True)) for r in items])  # type: ignore[arg-type]
                    await c.executemany(stage, [dict(zip(names, r, strict=True)) for r in st])  # type: ignore[arg-type]
        commits = COMMITS / (time.perf_counter() - t0)

        await listener.execute("LISTEN jobtui_bench")
        got: asyncio.Queue[float] = asyncio.Queue()

        async def pump() -> None:
            # psycopg delivers notifications while the connection reads: keep one read waiting.
            async for _ in listener.notifies():
                got.put_nowait(time.perf_counter())

        task = asyncio.create_task(pump())
        lat: list[float] = []
        try:
            for i in range(NOTIFIES):
                sent = time.perf_counter()
                await conn.execute(f"NOTIFY jobtui_bench, '{i}'")  # type: ignore[arg-type]
                lat.append((await asyncio.wait_for(got.get(), 10) - sent) * 1000)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return {"claims_per_s": claims, "commits_per_s": commits, "notify_ms": statistics.median(lat)}
    finally:
        await listener.close()
        await conn.close()


DRIVERS: dict[str, Callable[[str], Awaitable[dict[str, float]]]] = {
    "asyncpg": bench_asyncpg,
    "psycopg": bench_psycopg,
}


async def main(runs: int) -> dict[str, Any]:
    cluster: PgCluster = start_cluster()
    results: dict[str, list[dict[str, float]]] = {d: [] for d in DRIVERS}
    try:
        for run in range(runs):
            order = list(DRIVERS) if run % 2 == 0 else list(reversed(DRIVERS))
            for name in order:
                db = cluster.new_database()
                try:
                    results[name].append(await DRIVERS[name](cluster.url(db)))
                finally:
                    cluster.drop_database(db)
                print(f"run {run + 1} {name}: {results[name][-1]}", flush=True)
    finally:
        cluster.stop("immediate")
    summary = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items()
    }
    return {"runs": runs, "summary": summary, "raw": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    out = asyncio.run(main(args.runs))
    print()
    print(f"{'driver':10} {'claims/s':>10} {'commits/s':>10} {'notify ms':>10}   (medians of {args.runs})")
    for name, s in out["summary"].items():
        print(f"{name:10} {s['claims_per_s']:10.0f} {s['commits_per_s']:10.1f} {s['notify_ms']:10.2f}")
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (res / f"pg-drivers-{stamp}.json").write_text(json.dumps(out, indent=2))
