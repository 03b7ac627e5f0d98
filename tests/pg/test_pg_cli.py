"""The CLI on PostgreSQL (issue 10): `--db postgresql://...` end to end, and its bad input.

Every command here runs the real CLI (`jobtui(...)`: in-process, the runner in a subprocess) against the session's throwaway cluster; the URL
carries the superuser's password, which must never show in any output.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.backends import PG_PASSWORD, PgCluster
from tests.conftest import jobtui

pytest.importorskip("asyncpg")
pytestmark = pytest.mark.slow


def cli(*args: str, db: str | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `jobtui [--db URL] ARGS`; check that the password never shows."""
    out = jobtui(*(["--db", db] if db else []), *args, db=None, timeout=timeout, **env)
    assert PG_PASSWORD not in out.stdout + out.stderr
    return out


def _dump(cluster: PgCluster, dbname: str) -> list[str]:
    out = cluster.run("pg_dump", "-h", str(cluster.socket_dir), "-p", str(cluster.port), "-U", "postgres",
                      "--no-owner", dbname).stdout
    return [ln for ln in out.splitlines() if ln and not ln.startswith(("--", "\\restrict", "\\unrestrict"))]


def test_add_ls_show_run_logs_on_postgres(pg_url: str) -> None:
    """`jobtui add/submit/ls/show/run --exit-when-idle/logs` with `--db URL`, and with JOBTUI_DB=URL."""
    add = cli("add", "--", "sh", "-c", "echo hello from pg", db=pg_url)
    assert add.returncode == 0, add.stderr
    job = add.stdout.strip()
    sub = cli("submit", "demo", "-p", "items=3", "-p", "delay=0", db=pg_url)
    assert sub.returncode == 0, sub.stderr
    demo = sub.stdout.strip()
    bad = cli("submit", "demo", "-p", "items=2", "-p", "delay=0", "-p", "fail_stage=scraping", "-p",
              "fail_kind=permanent", db=pg_url).stdout.strip()
    ls = cli("ls", "--json", JOBTUI_DB=pg_url)
    assert ls.returncode == 0, ls.stderr
    assert [(j["job_id"], j["status"]) for j in json.loads(ls.stdout)] == [
        (int(job), "queued"), (int(demo), "queued"), (int(bad), "queued")]
    run = cli("run", "--exit-when-idle", db=pg_url)
    assert run.returncode == 0, run.stderr
    assert "postgresql://postgres:" in run.stderr  # where it runs is shown, with the password blanked
    for jid in (job, demo):
        show = cli("show", jid, "--json", db=pg_url)
        assert show.returncode == 0, show.stderr
        assert json.loads(show.stdout)["status"] == "completed"
    failed = cli("show", bad, db=pg_url)  # a failure is logged and shown without the URL's password
    assert failed.returncode == 0 and "failed" in failed.stdout
    logs = cli("logs", job, db=pg_url)
    assert "hello from pg" in logs.stdout
    stats = cli("stats", db=pg_url)
    assert stats.returncode == 0 and "completed" in stats.stdout


def test_bad_targets_one_line_exit_1_nothing_changed(pg_cluster: PgCluster, pg_url: str) -> None:
    """Unreachable server, wrong password, a missing database, a database of another application:
    one line on stderr, exit 1, no traceback, no password, nothing written."""
    dbname = pg_url.rsplit("/", 1)[1]
    pg_cluster.psql("CREATE TABLE invoices (id serial PRIMARY KEY, total int); INSERT INTO invoices (total) VALUES (7)",
                    dbname)
    before = _dump(pg_cluster, dbname)
    closed = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:1/{dbname}"
    cases = {
        "unreachable": (closed, "cannot connect"),
        "wrong password": (pg_cluster.url(dbname, password="not-" + PG_PASSWORD), "refused the credentials"),
        "missing database": (pg_cluster.url(dbname + "_nope"), "does not exist"),
        "another application": (pg_url, "not a jobtui database"),
    }
    for what, (url, says) in cases.items():
        commands = [("ls",), ("submit", "demo")] + ([("run", "--exit-when-idle")] if what == "another application" else [])
        for args in commands:
            out = cli(*args, db=url)
            lines = out.stderr.strip().splitlines()
            assert out.returncode == 1, (what, args, out.stderr)
            assert len(lines) == 1 and lines[0].startswith("jobtui: error: postgresql://postgres:"), (what, lines)
            assert says in lines[0], (what, lines[0])
            assert "Traceback" not in out.stderr
    assert _dump(pg_cluster, dbname) == before
