"""The throwaway PostgreSQL cluster of the test suite (tests/backends.py) works as promised."""

from __future__ import annotations

import subprocess

import pytest

from tests.backends import PG_PASSWORD, PgCluster


def test_fresh_database_per_test_is_empty(pg_cluster: PgCluster, pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    assert pg_cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == "0"
    pg_cluster.psql("CREATE TABLE leftover (x int)", name)
    assert pg_cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name) == "1"


def test_server_runs_default_fsync_and_not_as_root(pg_cluster: PgCluster) -> None:
    assert pg_cluster.psql("SHOW fsync") == "on"
    assert pg_cluster.psql("SELECT current_setting('port')") == str(pg_cluster.port)
    owner = pg_cluster.data.stat().st_uid
    assert owner != 0 or pg_cluster.as_user is None


def test_tcp_needs_the_password(pg_cluster: PgCluster) -> None:
    """Over TCP the server asks for a password (scram), as a real one would: a wrong one is refused."""
    ok = pg_cluster.run("psql", "-X", "-A", "-t", "-c", "SELECT 1", "-d", pg_cluster.url(), check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == "1", ok.stderr
    bad = pg_cluster.run(
        "psql", "-X", "-A", "-t", "-c", "SELECT 1", "-d", pg_cluster.url(password="wrong"), check=False
    )
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    assert PG_PASSWORD not in bad.stderr


@pytest.mark.slow
def test_restart_keeps_data(pg_cluster: PgCluster, pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    pg_cluster.psql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)", name)
    pg_cluster.restart()
    assert pg_cluster.psql("SELECT x FROM kept", name) == "7"
    with pytest.raises(subprocess.CalledProcessError):
        pg_cluster.psql("SELECT * FROM no_such_table", name)
