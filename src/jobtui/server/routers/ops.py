"""At the root: `/healthz` (no token) and `/metrics` (Prometheus text; a token unless --metrics-public)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ...apimodel import Scope
from ..auth import ClientDep, current_token
from ..outputs import HealthOut
from ..problems import Problem
from ..schemas import PROBLEMS

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness and database reachability (no token)",
            responses={200: {"model": HealthOut}, 503: {"model": HealthOut, "description": "the database does not answer"}})
async def healthz(client: ClientDep) -> JSONResponse:
    """Return 200 when the database answers, 503 when it does not."""
    try:
        await client.event_bounds()
    except Exception as e:
        return JSONResponse({"status": "unavailable", "detail": type(e).__name__}, status_code=503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def _families(client: ClientDep) -> list[Metric]:
    s = await client.stats()
    by_status = GaugeMetricFamily("jobtui_jobs", "Jobs by status", labels=["status"])
    for status, n in sorted(s.by_status.items()):
        by_status.add_metric([status], n)
    by_type = GaugeMetricFamily("jobtui_jobs_by_type", "Jobs by type", labels=["type"])
    for name, n in sorted(s.by_type.items()):
        by_type.add_metric([name], n)
    queued = GaugeMetricFamily("jobtui_queue_depth", "Jobs queued (waiting for a runner)")
    queued.add_metric([], s.by_status.get("queued", 0))
    oldest = await client.oldest_queued_ms()
    age = GaugeMetricFamily("jobtui_oldest_queued_age_seconds", "Age of the oldest queued job (0: none)")
    age.add_metric([], 0 if oldest is None else max(0, client.now_ms() - oldest) / 1000)
    items = GaugeMetricFamily("jobtui_items", "Items by outcome", labels=["outcome"])
    items.add_metric(["done"], s.items_done)
    items.add_metric(["failed"], s.items_failed)
    beats = GaugeMetricFamily("jobtui_runner_heartbeat_age_seconds", "Seconds since each runner's heartbeat",
                              labels=["runner", "host", "state"])
    for r in await client.fleet():
        beats.add_metric([r.info.label, r.info.hostname, r.health.value], r.heartbeat_age_ms / 1000)
    return [by_status, by_type, queued, age, items, beats]


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
            responses={**PROBLEMS, 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request, client: ClientDep) -> Response:
    """Return jobs by status and type, queue depth, oldest queued age, items, runner heartbeat ages."""
    if not request.app.state.settings.metrics_public:
        token = await current_token(request, client)
        if not token.scope.allows(Scope.READ):
            raise Problem(403, "insufficient-scope", "Not allowed for this token")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(await _families(client)))
    body: Any = generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
