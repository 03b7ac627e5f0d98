"""Issue 21 in the HTTP API: queues (list/show/add/edit/pause/resume/rm), `PATCH /jobs/{id}` with `jobtui edit`'s
rules, templates (and `POST /jobs` with `template`), `queue`/`notify_on` in the submit body, `GET /jobs?label=&queue=`,
and labels, queue, notify_on and templates in schedules. A real `jobtui serve` with its runner, driven with httpx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import poll
from tests.server.conftest import Server, token

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
QUICK = {"delay": 0, "items": 1}


def _problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers
    body = dict(r.json())
    assert body["type"] == f"urn:jobtui:problem:{slug}", body
    return body


def _job(c: httpx.Client, job_id: int) -> dict[str, Any]:
    r = c.get(f"/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _submit(c: httpx.Client, **body: Any) -> int:
    r = c.post("/jobs", json={"type": "demo", "params": QUICK, **body})
    assert r.status_code == 201, r.text
    return int(r.json()["job_id"])


def test_queues_add_show_edit_pause_resume_remove(server: Server) -> None:
    steer = token(server.db, "q-steer", "steer")
    with server.client(server.admin) as c, server.client(steer) as s:
        r = c.post("/queues", json={"name": "gpu", "concurrency": 2, "rate": "5/10s", "slots": True})
        assert r.status_code == 201, r.text
        assert r.headers["location"] == "/api/v1/queues/gpu"
        assert {k: r.json()[k] for k in ("concurrency", "per_runner", "rate", "slots", "paused")} == {
            "concurrency": 2, "per_runner": None, "rate": "5/10s", "slots": True, "paused": False}
        _problem(c.post("/queues", json={"name": "gpu"}), 409, "queue-in-use")
        _problem(s.post("/queues", json={"name": "other"}), 403, "insufficient-scope")
        for bad in ({"name": "a b"}, {"name": "q", "rate": "5 per s"}, {"name": "q", "concurrency": 0},
                    {"name": "q", "slots": True}, {"name": "q", "colour": "red"}):
            _problem(c.post("/queues", json=bad), 422, "invalid-input")
        assert [q["name"] for q in c.get("/queues").json()] == ["gpu"]
        # PATCH changes only what is given; null removes a limit.
        r = c.patch("/queues/gpu", json={"rate": None, "per_runner": 1})
        assert r.status_code == 200, r.text
        assert (r.json()["concurrency"], r.json()["per_runner"], r.json()["rate"]) == (2, 1, None)
        _problem(c.patch("/queues/nope", json={"concurrency": 1}), 404, "queue-not-found")
        _problem(c.get("/queues/nope"), 404, "queue-not-found")
        # A paused queue starts nothing: a job in no queue, queued after it, completes while it waits.
        r = s.post("/queues/gpu/pause")
        assert r.status_code == 200 and r.json()["queue"]["paused"] is True, r.text
        held = _submit(c, queue="gpu")
        free = _submit(c)
        poll(lambda: _job(c, free)["status"] == "completed", what="the job in no queue completed")
        assert _job(c, held)["status"] == "queued"
        assert c.get("/queues/gpu").json()["waiting"] == 1
        r = s.post("/queues/gpu/resume")
        assert r.status_code == 200 and r.json()["queue"]["paused"] is False, r.text
        poll(lambda: _job(c, held)["status"] == "completed", what="the queue's job completed once resumed")
        # pause?now=true pauses its running jobs too; resume resumes exactly those.
        running = _submit(c, queue="gpu", params={"delay": 5, "items": 50})
        poll(lambda: _job(c, running)["status"] == "running", what="the queue's job running")
        r = s.post("/queues/gpu/pause", params={"now": "true"})
        assert r.status_code == 200 and r.json()["jobs"] == [running], r.text
        poll(lambda: _job(c, running)["status"] == "paused", what="its running job paused")
        r = s.post("/queues/gpu/resume")
        assert r.json()["jobs"] == [running], r.text
        poll(lambda: _job(c, running)["status"] in ("running", "completed"), what="its job resumed")
        assert c.post(f"/jobs/{running}/cancel").status_code in (200, 202)
        poll(lambda: _job(c, running)["status"] == "cancelled", what="its job cancelled")
        # A queue some job names is not removed; once none does, it is.
        _problem(c.delete("/queues/gpu"), 409, "queue-in-use")
        _problem(s.delete("/queues/gpu"), 403, "insufficient-scope")
        for job_id in (held, free, running):
            assert c.delete(f"/jobs/{job_id}").status_code == 200
        r = c.delete("/queues/gpu")
        assert r.status_code == 200 and r.json() == {"name": "gpu", "removed": True}, r.text
        _problem(c.delete("/queues/gpu"), 404, "queue-not-found")


def test_patch_edits_a_job_as_jobtui_edit_does(server: Server) -> None:
    submit = token(server.db, "e-submit", "submit")
    with server.client(server.admin) as c, server.client(submit) as u:
        assert c.post("/queues", json={"name": "later"}).status_code == 201
        assert c.post("/queues", json={"name": "held"}).status_code == 201
        assert c.post("/queues/held/pause").status_code == 200
        job_id = _submit(c, queue="held", params={"delay": 0, "items": 1, "api_token": "old-secret-1"})
        r = u.patch(f"/jobs/{job_id}", json={
            "params": {"items": 2, "api_token": "new-secret-2"}, "priority": 5, "labels": {"project": "42"},
            "needs": ["gpu"], "max_retries": 4, "timeout": 90, "queue": "later", "at": "2030-01-01T00:00:00Z"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["before"], body["after"]) == ("queued", "queued")
        assert "secret" not in r.text
        assert body["changes"][0] == "params api_token changed, items 1 → 2"
        assert "priority 0 → 5" in body["changes"] and "queue held → later" in body["changes"]
        job = _job(c, job_id)
        assert (job["params"]["items"], job["priority"], job["labels"], job["queue"], job["max_retries"]) == (
            2, 5, {"project": "42"}, "later", 4)
        history = c.get(f"/jobs/{job_id}/history").json()
        assert history[-1]["action"] == "edit" and history[-1]["source"] == "api:e-submit", history
        # null queue: no queue; unlabel removes a label; a key set to null leaves the params.
        r = u.patch(f"/jobs/{job_id}", json={"queue": None, "unlabel": ["project"], "params": {"seed": None}})
        assert r.status_code == 200, r.text
        job = _job(c, job_id)
        assert (job["queue"], job["labels"]) == (None, {})
        # Refusals: nothing to edit, a bad value, no such job, a running job (409, unchanged).
        _problem(u.patch(f"/jobs/{job_id}", json={}), 422, "invalid-input")
        _problem(u.patch(f"/jobs/{job_id}", json={"params": {"items": "many"}}), 422, "invalid-input")
        _problem(u.patch(f"/jobs/{job_id}", json={"queue": "nope"}), 422, "invalid-input")
        _problem(u.patch("/jobs/999999", json={"priority": 1}), 404, "job-not-found")
        running = _submit(c, params={"delay": 5, "items": 50})
        poll(lambda: _job(c, running)["status"] == "running", what="the job running")
        before = _job(c, running)
        for change in ({"priority": 9}, {"params": {"items": 3}}, {"labels": {"k": "v"}}):
            p = _problem(u.patch(f"/jobs/{running}", json=change), 409, "edit-refused")
            assert "it is running" in p["detail"] and p["job_id"] == running
        after = _job(c, running)
        for key in ("params", "priority", "labels", "queue"):
            assert after[key] == before[key], key
        assert [h["action"] for h in c.get(f"/jobs/{running}/history").json()].count("edit") == 0
        assert c.post(f"/jobs/{running}/cancel").status_code in (200, 202)
        # A command job's params are its program: a submit token may not change them.
        cmd = c.post("/jobs", json={"command": ["true"], "at": "2030-01-01T00:00:00Z"}).json()["job_id"]
        _problem(u.patch(f"/jobs/{cmd}", json={"params": {"argv": ["false"]}}), 403, "insufficient-scope")
        assert u.patch(f"/jobs/{cmd}", json={"priority": 3}).status_code == 200


def test_templates_and_submit_with_a_template(server: Server) -> None:
    submit = token(server.db, "t-submit", "submit")
    with server.client(server.admin) as c, server.client(submit) as u:
        assert c.post("/queues", json={"name": "tq"}).status_code == 201
        r = c.post("/templates", json={"name": "nightly", "type": "demo", "params": {"items": 3, "delay": 0},
                                       "priority": 7, "labels": {"team": "ml"}, "queue": "tq"})
        assert r.status_code == 201, r.text
        assert r.json()["options"] == {"priority": 7, "labels": {"team": "ml"}, "queue": "tq"}
        _problem(c.post("/templates", json={"name": "nightly", "type": "demo"}), 409, "template-in-use")
        _problem(u.post("/templates", json={"name": "mine", "type": "demo"}), 403, "insufficient-scope")
        _problem(c.post("/templates", json={"name": "t2", "type": "demo", "params": {"items": "x"}}), 422,
                 "invalid-input")
        assert [t["name"] for t in u.get("/templates").json()] == ["nightly"]
        assert u.get("/templates/nightly").json()["type"] == "demo"
        _problem(u.get("/templates/nope"), 404, "template-not-found")
        # As `submit --template`: the template's type, params and options; the body's over them, labels merged.
        r = u.post("/jobs", json={"template": "nightly", "params": {"items": 1}, "labels": {"run": "7"}})
        assert r.status_code == 201, r.text
        job = r.json()
        assert (job["type"], job["params"]["items"], job["priority"], job["queue"], job["labels"]) == (
            "demo", 1, 7, "tq", {"run": "7", "team": "ml"})
        job = u.post("/jobs", json={"template": "nightly", "priority": 0, "queue": None}).json()
        assert (job["params"]["items"], job["priority"], job["queue"]) == (3, 0, "tq")
        _problem(u.post("/jobs", json={"template": "nope"}), 422, "invalid-input")
        _problem(u.post("/jobs", json={"template": "nightly", "type": "demo"}), 422, "invalid-input")
        # A template that runs a program needs an admin token to be queued.
        cmd = c.post("/jobs", json={"command": ["true"], "at": "2030-01-01T00:00:00Z"}).json()["job_id"]
        assert c.post("/templates", json={"name": "cmd", "from_job": cmd}).status_code == 201
        _problem(u.post("/jobs", json={"template": "cmd"}), 403, "insufficient-scope")
        assert c.post("/jobs", json={"template": "cmd", "at": "2030-01-01T00:00:00Z"}).status_code == 201
        assert c.delete("/templates/nightly").json() == {"name": "nightly", "removed": True}
        _problem(c.delete("/templates/nightly"), 404, "template-not-found")


def test_list_by_label_and_queue_and_notify_on_in_the_body(server: Server) -> None:
    with server.client(server.admin) as c:
        assert c.post("/queues", json={"name": "lq"}).status_code == 201
        a = _submit(c, labels={"project": "42"}, queue="lq")
        b = _submit(c, labels={"project": "43"})
        ids = lambda **q: [j["job_id"] for j in c.get("/jobs", params=q).json()["jobs"]]  # noqa: E731
        assert ids(label="project=42") == [a]
        assert set(ids(label="project")) >= {a, b}
        assert ids(label=["project", "project=43"]) == [b]
        assert ids(queue="lq") == [a]
        assert ids(label="project=44") == []
        for bad in ("a b", "k=", "api_token=x"):
            _problem(c.get("/jobs", params={"label": bad}), 422, "invalid-input")
        _problem(c.get("/jobs", params={"label": [f"k{i}" for i in range(33)]}), 422, "invalid-input")
        r = c.post("/jobs", json={"type": "demo", "params": QUICK, "notify_on": ["started", "ended"],
                                  "notify": [{"kind": "url", "target": "http://127.0.0.1:9/hook"}]})
        assert r.status_code == 201, r.text
        _problem(c.post("/jobs", json={"type": "demo", "notify_on": ["started"]}), 422, "invalid-input")
        _problem(c.post("/jobs", json={"type": "demo", "notify_on": ["sometimes"]}), 422, "invalid-input")
        _problem(c.post("/jobs", json={"type": "demo", "queue": "nope"}), 422, "invalid-input")


def test_a_schedule_with_labels_queue_notify_on_and_a_template(server: Server) -> None:
    with server.client(server.admin) as c:
        assert c.post("/queues", json={"name": "sq"}).status_code == 201
        r = c.post("/schedules", json={
            "name": "hourly", "type": "demo", "every": 3600, "labels": {"team": "ml"}, "queue": "sq",
            "notify": [{"kind": "url", "target": "http://127.0.0.1:9/hook"}], "notify_on": ["started", "ended"]})
        assert r.status_code == 201, r.text
        shown = c.get("/schedules/hourly").json()
        assert (shown["labels"], shown["queue"], shown["notify_on"]) == ({"team": "ml"}, "sq", ["started", "ended"])
        assert c.post("/templates", json={"name": "st", "type": "demo", "params": QUICK}).status_code == 201
        r = c.post("/schedules", json={"name": "of-template", "template": "st", "every": 3600})
        assert r.status_code == 201, r.text
        assert c.get("/schedules/of-template").json()["template"] == "st"
        for bad in ({"name": "x", "every": 60}, {"name": "x", "type": "demo", "template": "st", "every": 60},
                    {"name": "x", "type": "demo", "every": 60, "notify_on": ["started"]},
                    {"name": "x", "type": "demo", "every": 60, "labels": {"a b": "1"}}):
            _problem(c.post("/schedules", json=bad), 422, "invalid-input")


def test_a_submit_token_cannot_queue_a_command_type_by_its_name(server: Server, tmp_path: Path) -> None:
    """`{"type": "command", "params": {"stages": [...]}}` runs a program as much as `{"command": ...}`: admin only
    (a submit token queued it, and the server's runner ran it)."""
    submit = token(server.db, "c-submit", "submit")
    made = tmp_path / "made-by-a-submit-token"
    stage = {"name": "run", "run": ["touch", str(made)], "cwd": str(tmp_path)}
    with server.client(submit) as u, server.client(server.admin) as c:
        before = c.get("/stats").json()["total"]
        for kind, params in (("command", {"stages": [stage]}), ("foreach", {"stages": [{**stage, "items": ["a"]}]}),
                             ("pipeline", {"stages": [stage]})):
            _problem(u.post("/jobs", json={"type": kind, "params": params}), 403, "insufficient-scope")
        assert c.get("/stats").json()["total"] == before
        r = c.post("/jobs", json={"type": "command", "params": {"stages": [stage]}})
        assert r.status_code == 201, r.text
        poll(lambda: _job(c, r.json()["job_id"])["status"] == "completed", what="the admin's command job completed")
        assert made.exists()
