"""Every reply of every operation has a schema in the API's OpenAPI document (issue 22, remainder item 4), so
the property test (test_openapi_properties.py) checks each reply against a real schema, never `{}`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobtui.client import Client
from jobtui.server.app import create_app


async def _spec(tmp_path: Path) -> dict[str, Any]:
    client = await Client.open(str(tmp_path / "jobs.db"), source="test")
    try:
        return create_app(client).openapi()
    finally:
        await client.close()


@pytest.mark.slow  # every operation of a real server
async def test_every_reply_of_every_operation_has_a_schema(tmp_path: Path) -> None:
    spec = await _spec(tmp_path)
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code, reply in op["responses"].items():
                content = reply.get("content")
                if not content:
                    missing.append(f"{method.upper()} {path} {code}: no content")
                for media, v in (content or {}).items():
                    if not v.get("schema"):
                        missing.append(f"{method.upper()} {path} {code} {media}: no schema")
    assert not missing, "\n".join(missing)


async def test_problems_are_documented_as_problem_json_and_replies_as_their_models(tmp_path: Path) -> None:
    spec = await _spec(tmp_path)
    job = spec["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert list(job["404"]["content"]) == ["application/problem+json"]
    assert set(job["404"]["content"]["application/problem+json"]["schema"]["required"]) == {"type", "title", "status"}
    stats = spec["paths"]["/api/v1/stats"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert stats == {"$ref": "#/components/schemas/StatsOut"}
    events = spec["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]
    assert list(events) == ["text/event-stream"]
