"""`jobtui serve` end to end (issue 22): the seeds' flows with a real runner, tokens and scopes, Host/Origin
refusals, problem+json errors, idempotent submission, uploads and confined downloads."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
from typing import Any

import httpx
import jsonschema
import pytest

from tests.conftest import jobtui, poll
from tests.server.conftest import Server, free_port, token

PROBLEM = "application/problem+json"


def _status(c: httpx.Client, job_id: int) -> str:
    return str(c.get(f"/jobs/{job_id}").json()["status"])


def _wait_status(c: httpx.Client, job_id: int, *wanted: str) -> dict[str, Any]:
    poll(lambda: _status(c, job_id) in wanted, what=f"job {job_id} {wanted}")
    return dict(c.get(f"/jobs/{job_id}").json())


def _problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers
    body = dict(r.json())
    assert body["type"] == f"urn:jobtui:problem:{slug}", body
    assert body["status"] == status
    return body


def _conforms(spec: dict[str, Any], method: str, path: str, reply: httpx.Response) -> None:
    """Check a JSON reply against the schema the OpenAPI document gives for it (its models' `$ref`s resolved)."""
    content = spec["paths"][f"/api/v1{path}"][method]["responses"][str(reply.status_code)]["content"]
    schema = content[reply.headers["content-type"].split(";")[0]]["schema"]
    jsonschema.validate(reply.json(), {**schema, "components": spec["components"]})


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_seed_003_upload_poll_pause_resume_download(server: Server) -> None:
    """Seed 003's analyze-file: a multipart upload, poll, pause and resume while items run, download the results."""
    lines = "".join(f"line{i} a b c\n" for i in range(40))
    with server.client(server.admin) as c:
        job = {"type": "analyze", "params": {"delay": 0.05, "api_key": "sk-live-SECRET-123"}}
        r = c.post("/jobs", data={"job": json.dumps(job)}, files={"file": ("../../etc/in put.txt", lines)})
        assert r.status_code == 201, r.text
        body = r.json()
        job_id = body["job_id"]
        assert body["params"]["file"] == "uploads/in_put.txt"  # the name sanitised, inside the workspace
        assert body["params"]["api_key"] != "sk-live-SECRET-123"
        assert r.headers["location"] == f"/api/v1/jobs/{job_id}"
        poll(lambda: c.get(f"/jobs/{job_id}").json()["counters"]["items_done"] >= 3, what="items running")
        r = c.post(f"/jobs/{job_id}/pause")
        assert r.status_code in (200, 202), r.text
        assert r.json()["action"] == "pause"
        paused = _wait_status(c, job_id, "paused")
        assert paused["can_resume"] is True
        done_at_pause = paused["counters"]["items_done"]
        assert 3 <= done_at_pause < 40
        r = c.post(f"/jobs/{job_id}/resume")
        assert r.status_code == 200, r.text
        assert r.json()["resumes_from"] == "count" and r.json()["done"] is True
        done = _wait_status(c, job_id, "completed")
        assert done["counters"]["items_done"] == 40
        assert [f["path"] for f in done["files"]] == ["report.txt"]
        report = c.get(f"/jobs/{job_id}/files/report.txt")
        assert report.status_code == 200 and report.text.startswith("line0 4\n")
        upload = c.get(f"/jobs/{job_id}/files/uploads/in_put.txt")
        assert upload.text == lines
        export = c.get(f"/jobs/{job_id}/export", params={"format": "csv"})
        assert export.headers["content-disposition"] == f'attachment; filename="job-{job_id}.csv"'
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert len(rows) == 40 and {r["status"] for r in rows} == {"done"}
        assert "sk-live-SECRET-123" not in export.text
        logs = c.get(f"/jobs/{job_id}/logs").json()
        assert logs["lines"] and "sk-live-SECRET-123" not in str(logs)
        history = c.get(f"/jobs/{job_id}/history").json()
        assert [(h["action"], h["source"]) for h in history if h["action"] in ("pause", "resume")] == [
            ("pause", "api"), ("resume", "api")]


def test_cancel_then_partial_export_and_delete(server: Server) -> None:
    """Cancel while items run (202 or 200), the partial results download, and delete removes the job."""
    with server.client(server.admin) as c:
        r = c.post("/jobs", files={"file": ("in.txt", "".join(f"k{i} x\n" for i in range(200)))},
                   data={"job": '{"type": "analyze", "params": {"delay": 0.05}}'})
        job_id = r.json()["job_id"]
        poll(lambda: c.get(f"/jobs/{job_id}").json()["counters"]["items_done"] >= 2, what="items running")
        r = c.post(f"/jobs/{job_id}/cancel")
        assert r.status_code in (200, 202)
        cancelled = _wait_status(c, job_id, "cancelled")
        rows = c.get(f"/jobs/{job_id}/export").text.splitlines()
        assert len(rows) == cancelled["counters"]["items_done"] >= 2
        r = c.delete(f"/jobs/{job_id}")
        assert r.status_code == 200 and r.json()["after"] is None
        _problem(c.get(f"/jobs/{job_id}"), 404, "job-not-found")


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_scopes_and_tokens(server: Server) -> None:
    """read reads; steer also pauses; submit also submits typed jobs; only admin queues commands."""
    read, steer, submit = (token(server.db, f"t-{s}", s) for s in ("read", "steer", "submit"))
    demo = {"type": "demo", "params": {"delay": 5}}
    with server.client(read) as c:
        assert c.get("/jobs").status_code == 200
        _problem(c.post("/jobs", json=demo), 403, "insufficient-scope")
    with server.client(submit) as c:
        job_id = c.post("/jobs", json=demo).json()["job_id"]
        _problem(c.post("/jobs", json={"command": ["true"]}), 403, "insufficient-scope")
        _problem(c.post("/jobs", json={**demo, "notify": [{"kind": "cmd", "target": "touch /tmp/x"}]}), 403,
                 "insufficient-scope")
    with server.client(read) as c:
        _problem(c.post(f"/jobs/{job_id}/pause"), 403, "insufficient-scope")
    with server.client(steer) as c:
        assert c.post(f"/jobs/{job_id}/pause").status_code in (200, 202)
        _problem(c.delete(f"/jobs/{job_id}"), 403, "insufficient-scope")
    with server.client(server.admin) as c:
        r = c.post("/jobs", json={"command": ["sh", "-c", "echo hi"], "cwd": "/"})
        assert r.status_code == 201 and r.json()["type"] == "command"
        assert _wait_status(c, r.json()["job_id"], "completed")
    with server.client() as c:
        r = c.get("/jobs")
        _problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
    with server.client("jt_wrong") as c:
        _problem(c.get("/jobs"), 401, "unauthorized")
    # `token rm`: every server refuses it within the token cache's seconds.
    out = jobtui("--db", server.db, "token", "rm", "t-read", db=None)
    assert out.returncode == 0, out.stderr
    with server.client(read) as c:
        poll(lambda: c.get("/jobs").status_code == 401, what="the removed token refused")


def test_host_and_origin_refused_and_nothing_changes(server: Server) -> None:
    """DNS rebinding (a foreign Host) and another site's page (a foreign Origin) are refused before any handler."""
    with server.client(server.admin) as c:
        before = c.get("/stats").json()["total"]
        _problem(c.get("/jobs", headers={"Host": "evil.example:8765"}), 421, "unknown-host")
        r = c.post("/jobs", json={"type": "demo"}, headers={"Origin": "http://evil.example"})
        _problem(r, 403, "cross-origin")
        r = c.post("/jobs", json={"type": "demo"}, headers={"Origin": f"http://127.0.0.1:{server.port + 1}"})
        _problem(r, 403, "cross-origin")
        assert c.get("/stats").json()["total"] == before
        same = c.get("/jobs", headers={"Origin": server.base})
        assert same.status_code == 200
        assert c.get("/jobs", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_errors_are_problems(server: Server) -> None:
    """404, 409, 413, 415, 422 are problem+json with a stable type; nothing is stored by a refused request."""
    with server.client(server.admin) as c:
        before = c.get("/stats").json()["total"]
        _problem(c.get("/jobs/999999"), 404, "job-not-found")
        _problem(c.get("/jobs/99999999999999999999"), 404, "job-not-found")
        _problem(c.post("/jobs", json={"type": "nope"}), 422, "invalid-input")
        _problem(c.post("/jobs", json={"type": "demo", "params": {"delay": "slow"}}), 422, "invalid-input")
        _problem(c.post("/jobs", json={"type": "demo", "colour": "red"}), 422, "invalid-input")
        _problem(c.post("/jobs", json={"type": "demo", "priority": 10**30}), 422, "invalid-input")
        for raw in (b'{"type": "demo", "params": {"delay": 1e400}}', b'{"type": "demo", "params": {"delay": NaN}}',
                    b'{"type": "demo", "priority": 1.5}', b'{"type": "\\ud800"}', b'{"shell": "\\u0000"}',
                    b'{"type": "demo", "needs": ["a b"]}', b'{"type": "demo", "after": [999999]}'):
            _problem(c.post("/jobs", content=raw, headers={"content-type": "application/json"}), 422, "invalid-input")
        huge = b'{"type": "demo", "params": {"seed": "' + b"9" * (2 << 20) + b'"}}'
        _problem(c.post("/jobs", content=huge, headers={"content-type": "application/json"}), 413, "too-large")
        chunks = (b"[" * 65536 for _ in range(32))  # no Content-Length: counted as it arrives
        _problem(c.post("/jobs", content=chunks, headers={"content-type": "application/json"}), 413, "too-large")
        _problem(c.post("/jobs", content=b"[" * 50_000, headers={"content-type": "application/json"}), 422,
                 "invalid-input")
        _problem(c.post("/jobs", content=b"type=demo", headers={"content-type": "text/plain"}), 415,
                 "unsupported-media-type")
        _problem(c.post("/jobs", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"}),
                 422, "bad-upload")
        done = c.post("/jobs", json={"type": "demo", "params": {"delay": 0}}).json()["job_id"]
        _wait_status(c, done, "completed")
        _problem(c.post(f"/jobs/{done}/pause"), 409, "transition-not-allowed")
        unique = {"type": "demo", "params": {"delay": 30}, "unique_key": "only-one"}
        first = c.post("/jobs", json=unique).json()["job_id"]
        _problem(c.post("/jobs", json=unique), 409, "unique-key-active")
        c.post(f"/jobs/{first}/cancel")
        assert c.get("/stats").json()["total"] == before + 2


def test_idempotency_key_returns_the_same_job(server: Server) -> None:
    """A repeated Idempotency-Key returns the job it made (200); reused for another body: 422."""
    with server.client(server.admin) as c:
        body = {"type": "demo", "params": {"delay": 0}}
        first = c.post("/jobs", json=body, headers={"Idempotency-Key": "order-42"})
        again = c.post("/jobs", json=body, headers={"Idempotency-Key": "order-42"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["job_id"] == first.json()["job_id"]
        _problem(c.post("/jobs", json={**body, "priority": 3}, headers={"Idempotency-Key": "order-42"}), 422,
                 "idempotency-key-reused")


def test_file_downloads_are_confined(server: Server) -> None:
    """No `..`, no absolute path, no symlink out of (or within) the workspace, only tracked or uploaded files."""
    with server.client(server.admin) as c:
        r = c.post("/jobs", data={"job": '{"type": "analyze"}'}, files={"file": ("a.txt", "a 1\n")})
        job_id = r.json()["job_id"]
        _wait_status(c, job_id, "completed")
        ws = os.path.join(server.db.removesuffix(".db") + ".workspaces", str(job_id))
        os.symlink("/etc/passwd", os.path.join(ws, "uploads", "passwd"))
        os.symlink(os.path.join(ws, "report.txt"), os.path.join(ws, "uploads", "inside"))
        for path in ("uploads/passwd", "uploads/inside", "uploads/%2e%2e/report.txt", "uploads/%2e%2e/%2e%2e/jobs.db",
                     "/etc/passwd", "uploads/", "uploads/nope", "jobs.db"):
            _problem(c.get(f"/jobs/{job_id}/files/{path}"), 404, "file-not-found")
        assert c.get(f"/jobs/{job_id}/files/uploads/a.txt").text == "a 1\n"


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_idempotency_holds_across_a_restart_and_sigterm_hands_jobs_back(tmp_path: Any) -> None:
    """The key is in the database: a restarted server returns the same job. SIGTERM exits 0 and hands jobs back."""
    s = Server(str(tmp_path / "jobs.db"), free_port()).start()
    admin = s.read_admin()
    with s.client(admin) as c:
        body = {"type": "demo", "params": {"delay": 30}}
        job_id = c.post("/jobs", json=body, headers={"Idempotency-Key": "k1"}).json()["job_id"]
        _wait_status(c, job_id, "running")
    code, err = s.stop(signal.SIGTERM)
    assert code == 0, err
    assert "Traceback" not in err
    s = Server(s.db, s.port, args=("--attach",)).start()
    try:
        with s.client(admin) as c:
            assert c.get(f"/jobs/{job_id}").json()["status"] == "queued"  # handed back, resumable by any runner
            again = c.post("/jobs", json=body, headers={"Idempotency-Key": "k1"})
            assert again.status_code == 200 and again.json()["job_id"] == job_id
    finally:
        code, err = s.stop(signal.SIGINT)
    assert code == 0, err


@pytest.mark.slow  # a real server process
def test_pages_types_stats_runners_metrics_schedules(server: Server) -> None:
    """Keyset pages with a `next` link; types with secret defaults masked; stats, runners, Prometheus metrics;
    schedules added, paused, resumed and removed."""
    with server.client(server.admin) as c:
        posted = [c.post("/jobs", json={"type": "demo", "params": {"delay": 0}}).json()["job_id"] for _ in range(3)]
        page = c.get("/jobs", params={"limit": 2, "type": "demo"}).json()
        assert len(page["jobs"]) == 2 and page["next"]
        seen = [j["job_id"] for j in page["jobs"]]
        while page["next"]:
            page = httpx.get(f"{server.base}{page['next']}", headers=c.headers).json()
            seen += [j["job_id"] for j in page["jobs"]]
        assert seen == sorted(seen) and len(seen) == len(set(seen)) >= 3
        types = {t["name"]: t for t in c.get("/types").json()}
        key = next(p for p in types["analyze"]["params"] if p["name"] == "api_key")
        assert key["secret"] is True and key["default"] != "sk-default-7f3a"
        assert "sk-default-7f3a" not in c.get("/types").text
        stats = c.get("/stats").json()
        assert stats["total"] == sum(stats["by_status"].values()) and stats["runners"] == 1
        runners = c.get("/runners").json()
        assert [r["state"] for r in runners] == ["alive"]
        spec = c.get("/openapi.json").json()
        for path in ("/stats", "/runners", "/types", "/jobs/{job_id}", "/jobs"):
            _conforms(spec, "get", path, c.get(path.format(job_id=seen[0])))
        # The metric of completed jobs needs one to have completed: the runner may still be at them under load.
        poll(lambda: any(c.get(f"/jobs/{j}").json()["status"] == "completed" for j in posted), what="a demo job completed")
        metrics = httpx.get(f"{server.base}/metrics", headers=c.headers)
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert 'jobtui_jobs{status="completed"}' in metrics.text and "jobtui_runner_heartbeat_age_seconds{" in metrics.text
        assert httpx.get(f"{server.base}/metrics").status_code == 401
        r = c.post("/schedules", json={"name": "hourly", "type": "demo", "every": 3600, "params": {"delay": 0}})
        assert r.status_code == 201 and r.json()["every_s"] == 3600
        _conforms(spec, "post", "/schedules", r)
        for path in ("/schedules", "/schedules/{name}"):
            _conforms(spec, "get", path, c.get(path.format(name="hourly")))
        assert [s["name"] for s in c.get("/schedules").json()] == ["hourly"]
        assert c.post("/schedules/hourly/pause").json()["paused"] is True
        assert c.post("/schedules/hourly/resume").json()["paused"] is False
        assert c.delete("/schedules/hourly").status_code == 200
        _problem(c.get("/schedules/hourly"), 404, "schedule-not-found")
        _problem(c.post("/schedules/hourly/pause"), 404, "schedule-not-found")


@pytest.mark.slow  # a real server process
def test_locked_database_is_503_with_retry_after_and_idle_streams_get_keepalives(tmp_path: Any) -> None:
    """A database held by another process: 503 + Retry-After, nothing stored, fine again once released.
    An idle event stream gets keep-alive comments."""
    s = Server(str(tmp_path / "jobs.db"), free_port(), args=("--attach", "--keepalive", "0.2"),
               env={"JOBTUI_BUSY_TIMEOUT_MS": "300"}).start()
    admin = s.read_admin()
    try:
        with s.client(admin) as c, httpx.stream("GET", f"{s.base}/api/v1/events",
                                                headers={"Authorization": f"Bearer {admin}"}, timeout=30) as r:
            lines = r.iter_lines()
            assert next(line for line in lines if line.startswith(":"))  # a comment, before any event
            assert c.get("/jobs").status_code == 200
            holder = sqlite3.connect(s.db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                r503 = c.post("/jobs", json={"type": "demo"})
                body = _problem(r503, 503, "database-busy")
                assert r503.headers["retry-after"] == "1" and "locked" in body["detail"]
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert c.post("/jobs", json={"type": "demo"}).status_code == 201
            assert c.get("/stats").json()["total"] == 1
    finally:
        code, err = s.stop()
    assert code == 0, err


@pytest.mark.slow  # a real server process
def test_an_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Any) -> None:
    """--max-upload: a larger multipart body is refused while it arrives; no job, no staged file is left."""
    s = Server(str(tmp_path / "jobs.db"), free_port(), args=("--attach", "--max-upload", "4K")).start()
    admin = s.read_admin()
    try:
        with s.client(admin) as c:
            r = c.post("/jobs", data={"job": '{"type": "analyze"}'}, files={"file": ("big.txt", "x" * 20_000)})
            _problem(r, 413, "too-large")
            ok = c.post("/jobs", data={"job": '{"type": "analyze"}'}, files={"file": ("small.txt", "a 1\n")})
            assert ok.status_code == 201
            assert c.get("/stats").json()["total"] == 1
        staging = tmp_path / "jobs.workspaces" / ".uploads"
        assert not staging.exists() or not any(staging.iterdir())
    finally:
        code, err = s.stop()
    assert code == 0, err
