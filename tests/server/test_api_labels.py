"""Issue 21 item 2: labels in the API's submit body, shown in the job detail; bad ones are 422 and store nothing."""

from __future__ import annotations

import pytest

from tests.server.conftest import Server

pytestmark = pytest.mark.slow


def test_labels_in_the_submit_body(server: Server) -> None:
    with server.client(server.admin) as c:
        r = c.post("/jobs", json={"type": "demo", "params": {"delay": 0}, "labels": {"project": "42", "team": "ocr"}})
        assert r.status_code == 201, r.text
        job = c.get(f"/jobs/{r.json()['job_id']}").json()
        assert job["labels"] == {"project": "42", "team": "ocr"}
        before = c.get("/stats").json()["total"]
        for labels in ({"a b": "1"}, {"k": "a b"}, {"k": ""}, {"api_token": "x"}, {"k": 1},
                       {f"k{i}": "v" for i in range(33)}):
            r = c.post("/jobs", json={"type": "demo", "labels": labels})
            assert r.status_code == 422, (labels, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        assert c.get("/stats").json()["total"] == before
