"""Two `serve --attach` processes on one PostgreSQL database with a runner (issue 22): a token, an idempotency key
and an event stream's cursor are the database's, so both servers agree and a stream moves from one to the other."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.backends import PgCluster
from tests.conftest import jobtui, poll, spawn_runner, stop_runner
from tests.server.conftest import Server, free_port
from tests.server.test_sse import sse


@pytest.mark.slow  # several seconds under load (a parallel run timed it out at 10 s)
def test_two_servers_one_postgres_database(pg_cluster: PgCluster, pg_url: str, tmp_path: Path) -> None:
    env = {"JOBTUI_WORKSPACES": str(tmp_path / "ws")}
    a = Server(pg_url, free_port(), args=("--attach",), env=env).start()
    admin = a.read_admin()
    b = Server(pg_url, free_port(), args=("--attach",), env=env).start()
    runner = spawn_runner(pg_url, "--concurrency", "4")
    try:
        with a.client(admin) as ca, b.client(admin) as cb:
            body = {"type": "demo", "params": {"delay": 0.3, "items": 4}}
            first = ca.post("/jobs", json=body, headers={"Idempotency-Key": "pg-1"})
            again = cb.post("/jobs", json=body, headers={"Idempotency-Key": "pg-1"})
            assert first.status_code == 201 and again.status_code == 200
            assert again.json()["job_id"] == first.json()["job_id"]
            ids = [first.json()["job_id"]] + [ca.post("/jobs", json=body).json()["job_id"] for _ in range(5)]
            slow = cb.post("/jobs", json={"type": "demo", "params": {"delay": 3, "items": 20}}).json()["job_id"]
            poll(lambda: cb.get(f"/jobs/{slow}").json()["status"] == "running", what="slow job running")
            assert cb.post(f"/jobs/{slow}/pause").status_code in (200, 202)
            poll(lambda: ca.get(f"/jobs/{slow}").json()["status"] == "paused", what="paused, seen from A")
        headers = {"Authorization": f"Bearer {admin}"}
        received: list[int] = []
        completed: set[int] = set()
        with httpx.stream("GET", f"{a.base}/api/v1/events", params={"after_id": 0}, headers=headers, timeout=30) as r:
            for eid, name, _data in sse(r):
                if name == "job":
                    received.append(int(eid or 0))
                    if len(received) == 6:
                        break
        headers["Last-Event-ID"] = str(received[-1])
        with httpx.stream("GET", f"{b.base}/api/v1/events", headers=headers, timeout=60) as r:
            for eid, name, data in sse(r):
                if name == "job":
                    received.append(int(eid or 0))
                    if data["to"] == "completed":
                        completed.add(int(data["job_id"]))  # type: ignore[call-overload]
                    if completed >= set(ids):
                        break
        with a.client(admin) as ca, b.client(admin) as cb:
            # An upload through one server, downloaded through the other (the workspace is shared, the row is the
            # database's); the runner does not know `analyze`, so the job waits in the queue meanwhile.
            up = ca.post("/jobs", data={"job": '{"type": "analyze"}'}, files={"file": ("../in put.txt", "a 1\nb 2\n")})
            assert up.status_code == 201, up.text
            assert up.json()["params"]["file"] == "uploads/in_put.txt"
            down = cb.get(f"/jobs/{up.json()['job_id']}/files/uploads/in_put.txt")
            assert down.status_code == 200 and down.text == "a 1\nb 2\n"
            assert cb.get(f"/jobs/{up.json()['job_id']}/files/uploads/..%2F..%2Fjobs.db").status_code == 404
        dbname = pg_url.rsplit("/", 1)[1]
        out = pg_cluster.psql(f"SELECT event_id FROM job_events WHERE event_id <= {received[-1]} ORDER BY event_id",
                              dbname)
        assert received == [int(x) for x in out.split()]
        rm = jobtui("--db", pg_url, "token", "rm", "admin", db=None)
        assert rm.returncode == 0, rm.stderr
        for s in (a, b):
            with s.client(admin) as c:
                poll(lambda c=c: c.get("/jobs").status_code == 401, what="the removed token refused by every server")
    finally:
        stop_runner(runner)
        for s in (a, b):
            code, err = s.stop(signal.SIGTERM)
            assert code == 0, err
