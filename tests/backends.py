"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl into a temporary folder.

The cluster is started once per test session (`pg_cluster`), on a free TCP port of 127.0.0.1 with
its unix socket in the same temporary folder, and every test that asks for `pg_url` gets a fresh,
empty database (CREATE DATABASE from a template: a few milliseconds). Run as root, the server runs
as the `postgres` OS user (PostgreSQL refuses to run as root); otherwise as the current user.

Where no PostgreSQL is installed the tests that need it are skipped, except in CI (`CI=true`),
where they fail loudly: `.ci/run` installs PostgreSQL, so a missing server there is a broken CI.

The superuser `postgres` has a password (scram-sha-256 over TCP, as a real server would ask), so
the URLs the tests use carry a password that must never be printed or logged.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import pgconn

PG_PASSWORD = "s3cret-pg-pw"
"""The superuser's password in every test URL (tests check it never shows in output or logs)."""

PG_USER = "postgres"

SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c max_connections=200"
"""The server's settings: fsync stays at its default, as on a real server (tests/pg/test_cluster.py)."""


def in_ci() -> bool:
    """Tell whether the tests run in CI, where PostgreSQL tests must run, never skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def find_bin_dir() -> Path | None:
    """Return the folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        real = Path(initdb).resolve().parent
        if (real / "pg_ctl").exists() and (real / "postgres").exists():
            return real
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running throwaway cluster: its folder, port, binaries and OS user."""

    root: Path
    bin_dir: Path
    port: int
    as_user: str | None
    """The OS user the server runs as (None: the current user)."""
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _cmd(self, *args: str) -> list[str]:
        if self.as_user is None:
            return list(args)
        return ["runuser", "-u", self.as_user, "--", *args]

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program of this cluster's bin folder (as the cluster's OS user)."""
        return subprocess.run(
            self._cmd(str(self.bin_dir / args[0]), *args[1:]), capture_output=True, text=True, check=check,
            timeout=timeout, cwd=self.root,
        )

    def url(self, dbname: str = "postgres", *, password: str | None = PG_PASSWORD, user: str = PG_USER) -> str:
        """Return a postgresql:// URL over TCP to one database of this cluster."""
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with psql over the unix socket (trusted) and return its unaligned output."""
        out = self.run(
            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p",
            str(self.port), "-U", PG_USER, "-d", dbname, "-c", sql,
        )
        return out.stdout.strip()

    def new_database(self, template: str = "template0") -> str:
        """Create a fresh database (empty, or a copy of `template`) and return its name."""
        name = f"t{os.getpid()}_{next(self._names)}"
        pgconn.execute(self.url(), f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database_soon(self, name: str) -> None:
        """Drop a database in the background (a forced drop can take a second on a loaded machine)."""
        pgconn.forget(self.url(name))
        pgconn.execute_soon(self.url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the sessions still connected to it."""
        pgconn.forget(self.url(name))
        pgconn.execute(self.url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
            f"-p {self.port} -k {self.socket_dir} {SERVER_OPTIONS}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`mode`: smart, fast or immediate)."""
        self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """Restart the server in place (same port and data): clients see their connections drop."""
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", mode, "-o",
            f"-p {self.port} -k {self.socket_dir} {SERVER_OPTIONS}",
            "restart",
        )


def start_cluster() -> PgCluster:
    """Create and start a cluster in a new temporary folder.

    Raises:
        RuntimeError: PostgreSQL is not installed or the server did not start (with its log).
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin)")
    as_user = PG_USER if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="jobtui-pg-"))
    (root / "sock").mkdir()
    pwfile = root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if as_user is not None:
        shutil.chown(root, as_user)
        shutil.chown(root / "sock", as_user)
        shutil.chown(pwfile, as_user)
    cluster = PgCluster(root, bin_dir, _free_port(), as_user)
    try:
        # --no-sync: only initdb's own files skip fsync (it is throwaway); the server keeps its defaults.
        cluster.run(
            "initdb", "-D", str(cluster.data), "-U", PG_USER, "-E", "UTF8", "--locale=C", "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
        )
        cluster.start()
    except (subprocess.CalledProcessError, OSError) as e:
        log = cluster.log.read_text(errors="replace")[-2000:] if cluster.log.exists() else ""
        detail = e.stderr if isinstance(e, subprocess.CalledProcessError) else str(e)
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail}\n{log}") from e
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the whole session: skipped where none is installed, a failure in CI."""
    try:
        cluster = start_cluster()
    except RuntimeError as e:
        if in_ci():
            pytest.fail(f"CI must run the PostgreSQL tests: {e}", pytrace=False)
        pytest.skip(str(e))
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A postgresql:// URL (with a password) to a fresh, empty database, dropped after the test."""
    name = pg_cluster.new_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A fresh database of each backend for tests that drive the real CLI and runners: a SQLite file, or a
    database on the session's PostgreSQL cluster (a module may still define a `db` of its own)."""
    if request.param == "sqlite":
        return tmp_path / "jobs.db"
    url: str = request.getfixturevalue("pg_url")
    return url
