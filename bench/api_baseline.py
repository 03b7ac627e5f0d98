"""The bare baseline of bench_api.py: FastAPI + aiosqlite returning one job row as JSON; no auth, no checks.

    python bench/api_baseline.py DB PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse


def make(db: str) -> FastAPI:
    """Return the baseline app on the database file `db`."""
    state: dict[str, aiosqlite.Connection] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["db"] = await aiosqlite.connect(db)
        yield
        await state["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/row/{job_id}")
    async def row(job_id: int) -> JSONResponse:
        cur = await state["db"].execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        names = [d[0] for d in cur.description]
        values = await cur.fetchone()
        return JSONResponse(dict(zip(names, values or (), strict=False)))

    return app


if __name__ == "__main__":
    uvicorn.run(make(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
