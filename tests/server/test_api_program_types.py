"""Command, pipeline and foreach jobs run programs on the server: only an admin token may queue one, whether the
body says `command`/`shell`/`foreach` or names the type with its stages as params (a `submit` token could run any
shell line that way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import poll
from tests.server.conftest import Server, token

pytestmark = pytest.mark.slow  # a real server with its runner


@pytest.mark.parametrize("kind", ["command", "pipeline", "foreach"])
def test_a_submit_token_cannot_queue_a_program_by_its_type(server: Server, tmp_path: Path, kind: str) -> None:
    mark = tmp_path / f"ran-{kind}"
    run: str | list[str] = ["touch", str(mark)] if kind == "foreach" else f"touch {mark}"
    stage = {"name": "run", "run": run}
    body = {"type": kind, "params": {"name": "x", "stages": [stage]}}
    with server.client(token(server.db, f"submitter-{kind}", "submit")) as c:
        r = c.post("/jobs", json=body)
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("insufficient-scope") and "admin" in r.json()["detail"]
        assert c.post("/jobs", json={"shell": f"touch {mark}"}).status_code == 403
    with server.client(server.admin) as c:  # an admin may (the body as the CLI's `add` would store it)
        if kind == "command":
            r = c.post("/jobs", json=body)
            assert r.status_code == 201, r.text
            job_id = r.json()["job_id"]
            poll(lambda: c.get(f"/jobs/{job_id}").json()["status"] == "completed", what="the admin's command job")
            assert mark.exists()
    if kind != "command":
        assert not mark.exists()
