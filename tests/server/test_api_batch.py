"""`POST /api/v1/jobs:batch` (issue 22, remainder item 3): many jobs in one request and one transaction, all or
none; a refused job is named by its index and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.conftest import Server, token

PROBLEM = "application/problem+json"


def _total(c: httpx.Client) -> int:
    return int(c.get("/stats").json()["total"])


def _refused(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert body["type"] == f"urn:jobtui:problem:{slug}", body
    return body


def test_a_batch_is_queued_in_order_and_each_job_is_real(server: Server) -> None:
    with server.client(server.admin) as c:
        jobs = [{"type": "demo", "params": {"delay": 0}, "priority": p, "labels": {"n": str(p)}} for p in range(5)]
        jobs.append({"command": ["true"]})
        r = c.post("/jobs:batch", json={"jobs": jobs})
        assert r.status_code == 201, r.text
        got = r.json()["jobs"]
        assert [j["priority"] for j in got] == [0, 1, 2, 3, 4, 0]
        assert [j["type"] for j in got] == ["demo"] * 5 + ["command"]
        ids = [j["job_id"] for j in got]
        assert ids == sorted(ids) and len(set(ids)) == 6
        for j in got:
            assert c.get(f"/jobs/{j['job_id']}").status_code == 200


def test_a_refused_job_refuses_the_batch_and_nothing_is_stored(server: Server) -> None:
    submit = token(server.db, "batcher", "submit")
    with server.client(server.admin) as admin, server.client(submit) as c:
        before = _total(admin)
        ok = {"type": "demo", "params": {"delay": 0}}
        bad = _refused(c.post("/jobs:batch", json={"jobs": [ok, ok, {"type": "nope"}]}), 422, "invalid-input")
        assert bad["index"] == 2 and bad["detail"].startswith("jobs.2: ")
        bad = _refused(c.post("/jobs:batch", json={"jobs": [{"type": "nope"}, ok]}), 422, "invalid-input")
        assert bad["index"] == 0
        bad = _refused(c.post("/jobs:batch", json={"jobs": [ok, {"type": "demo", "params": {"delay": "x"}}]}),
                       422, "invalid-input")
        assert bad["index"] == 1
        bad = _refused(c.post("/jobs:batch", json={"jobs": [ok, {"shell": "rm -rf ~"}]}), 403, "insufficient-scope")
        assert bad["index"] == 1
        keyed = {**ok, "unique_key": "batch-k"}
        _refused(c.post("/jobs:batch", json={"jobs": [keyed, keyed]}), 422, "invalid-input")
        assert _total(admin) == before
        assert c.post("/jobs:batch", json={"jobs": [keyed]}).status_code == 201
        _refused(c.post("/jobs:batch", json={"jobs": [ok, keyed]}), 409, "unique-key-active")
        assert _total(admin) == before + 1


def test_bad_batches_are_problems(server: Server) -> None:
    with server.client(server.admin) as c:
        before = _total(c)
        ok = {"type": "demo", "params": {"delay": 0}}
        _refused(c.post("/jobs:batch", json={"jobs": []}), 422, "invalid-input")
        _refused(c.post("/jobs:batch", json={"jobs": [ok] * 1001}), 422, "invalid-input")
        _refused(c.post("/jobs:batch", json={"jobs": [ok], "extra": 1}), 422, "invalid-input")
        _refused(c.post("/jobs:batch", json=[ok]), 422, "invalid-input")
        _refused(c.post("/jobs:batch", content=b"jobs=1", headers={"content-type": "text/plain"}), 415,
                 "unsupported-media-type")
        _refused(c.post("/jobs:batch", json={"jobs": [ok]}, headers={"Idempotency-Key": "k1"}), 422, "invalid-input")
        _refused(c.post("/jobs:batch", content=b"{" * 5000, headers={"content-type": "application/json"}), 422,
                 "invalid-input")
        with server.client(token(server.db, "reader-b", "read")) as reader:
            _refused(reader.post("/jobs:batch", json={"jobs": [ok]}), 403, "insufficient-scope")
        assert _total(c) == before
