"""The ASGI app: `create_app(client, settings)`, the one factory `jobtui serve` and the tests build it with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..client import Client
from . import problems
from .auth import TokenCache
from .feed import EventFeed
from .grouping import SubmitGroup
from .guards import Guard
from .routers import actions, batch, edit, events, files, jobs, meta, ops, queues, templates
from .settings import Settings
from .web import router as web_router

API = "/api/v1"
"""Every resource is under this prefix (a later, incompatible version gets its own)."""


def create_app(client: Client, settings: Settings | None = None) -> FastAPI:
    """Return the app serving `client`'s database: the API under /api/v1, /healthz and /metrics at the root."""
    settings = settings or Settings()
    feed = EventFeed(client, poll_s=settings.sse_poll_s, max_behind=settings.sse_max_behind,
                     keep_s=settings.events_keep_s)
    submits = SubmitGroup(client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await feed.start()
        try:
            yield
        finally:
            await submits.close()
            await feed.stop()

    app = FastAPI(
        title="jobtui", version="1", summary="Durable, steerable background jobs",
        openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None, lifespan=lifespan,
    )
    app.state.client = client
    app.state.settings = settings
    app.state.tokens = TokenCache(settings.token_cache_s)
    app.state.feed = feed
    app.state.submits = submits
    problems.install(app, client.is_transient)
    for module in (jobs, batch, actions, files, events, meta, edit, queues, templates):
        # Each straight into the app (not through one /api/v1 router): one level less to match per request.
        app.include_router(module.router, prefix=API)
    app.include_router(ops.router)
    app.include_router(web_router)
    app.add_middleware(Guard, settings=settings)
    return app
