"""Shared fixtures: one real SQLite file per test, the real engine, the real CLI in subprocesses."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from jobtui import JobType, Registry, Runner
from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.store import Store
from tests.inprocess import in_process_ok, run_in_process
from tests.order import long_first
from tests.slowness import SLOW_FIXTURES, spawning

pytest_plugins = ["tests.backends"]
"""The throwaway PostgreSQL cluster fixtures (pg_cluster, pg_url): one server per session."""

T = TypeVar("T")

TESTS = Path(__file__).parent
APPS = TESTS / "apps"
if str(APPS) not in sys.path:
    sys.path.append(str(APPS))  # the CLI run in-process (`jobtui(...)`) imports their `--app` modules, as its children do


# The processes the tests start (`python -m jobtui`: the CLI, runners, servers; thousands of them) read
# compiled bytecode instead of compiling every jobtui module each time (~30% of a CLI call's CPU): a
# PYTHONDONTWRITEBYTECODE in the environment would make every start compile the source tree again. The
# bytecode goes to a folder of its own under the temp dir, never into the source tree.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"jobtui-tests-pycache-{os.getuid()}"))

SLOW_TIMEOUT_S = 180
"""The per-test limit of tests marked slow (real runner processes, terminals, browsers, PostgreSQL); others get
pytest's `timeout` (10 s, pyproject.toml). A test that starts processes is marked slow by its code alone
(tests/slowness.py); one that is slow in-process is marked by hand, with its reason."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores. Much of a test's wall time is spent waiting on a process it
    started (a CLI, a runner, a server, a browser), and one more worker fills those waits: on 2 cores the
    suite's wall time was about 1.5x its CPU time divided by 2."""
    return (os.cpu_count() or 1) + 1


GC_GEN0_THRESHOLD = 100_000
"""The test process's cyclic GC runs after 100,000 new container objects, not Python's 700 (issue 20: the suite's
time). A worker holds some 250,000 objects (pytest, Textual, hypothesis, what the tests leave behind), and at
700 it walked them all about every 130 young collections: 30% of the CPU of a run of TUI and CLI tests went to
the collector (7.4 of 24.6 s; 2.4 of 19.4 s at 100,000). Garbage is still collected, only in larger batches;
the processes the tests start keep Python's defaults."""


def pytest_configure(config: pytest.Config) -> None:
    """Run with SIGINT at its default, however the suite was started; collect garbage in larger batches.

    Started in the background of a non-interactive shell (`ci.sh &`), pytest runs with SIGINT ignored, and so
    does every process the tests start: `jobtui logs --follow` then outlived the SIGINT that stands for a
    user's Ctrl-C, as `tail -f` would. The tests play a user at a terminal, where Ctrl-C is never ignored.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)


def _starts_processes(item: pytest.Item, spawns: frozenset[tuple[str, str]]) -> bool:
    """Tell whether a test's function or one of its fixtures starts processes or runs the TUI (tests/slowness.py)."""
    fn = getattr(item, "function", None)
    if fn is None:
        return False
    if not SLOW_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return True
    keys = {(fn.__module__, fn.__qualname__)}
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        keys.update((d.func.__module__, d.func.__qualname__) for d in defs)
    return not keys.isdisjoint(spawns)


def load_factor() -> float:
    """Return how oversubscribed the machine is: its 1-minute load average per core, from 1 up to 6."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1.0
    return min(6.0, max(1.0, load / (os.cpu_count() or 1)))


def pytest_report_header(config: pytest.Config) -> str:
    base = float(config.getini("timeout") or 0)
    factor = load_factor()
    scaled = "" if factor == 1 else f" x {factor:.1f} (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    return f"per-test timeout: {base:g} s{scaled}; tests marked slow {SLOW_TIMEOUT_S} s"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark slow the tests that start processes or run the TUI; give tests marked slow a longer timeout (an
    explicit `@pytest.mark.timeout` still wins).

    The 10 s of the others catch a hang, not a busy machine: on one whose load average is N per core
    (several suites at once on 2 cores), they get N times 10 s, at most 60 s (the header says so).
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers:
        items[:] = long_first(items, workers)  # every worker collects, and each orders its collection alike
    spawns = spawning(TESTS)
    base = float(config.getini("timeout") or 0)
    factor = load_factor()
    for item in items:
        if item.get_closest_marker("slow") is None and _starts_processes(item, spawns):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("timeout") is not None:
            continue
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
        elif base and factor > 1:
            item.add_marker(pytest.mark.timeout(base * factor))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    yield s
    await s.close()


@pytest.fixture
async def client(store: Store) -> Client:
    return Client(store, default_registry())


def make_client(store: Store, *types: JobType) -> Client:
    """Return a client whose registry holds the built-in types plus `types`."""
    registry = default_registry()
    for t in types:
        registry.add(t)
    return Client(store, registry)


async def run_idle(client: Client, *, concurrency: int = 4, timeout: float = 30, **kw: object) -> Runner:
    """Run a runner on the client's store until no job is left to run."""
    runner = Runner(client.store, client.registry, concurrency=concurrency, **kw)  # type: ignore[arg-type]
    await asyncio.wait_for(runner.run(exit_when_idle=True), timeout)
    return runner


async def wait_for(cond: Callable[[], object], timeout: float = 10, every: float = 0.02, what: str = "condition") -> None:
    """Poll an async or sync condition from an async test until it is true (`poll` is the sync twin)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = cond()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > end:
            raise AssertionError(f"{what} not met in {timeout:g}s")
        await asyncio.sleep(every)


@contextmanager
def after_commit(store: Any, action: Callable[[], Awaitable[object]]) -> Iterator[None]:
    """Within the block, run `action` each time one of the store's commit points has returned, before its caller
    goes on (a step of the test lands between a commit and the code that waited for it); then the store's own."""
    real = store.commit_point

    async def commit_then_act() -> None:
        await real()
        await action()

    store.commit_point = commit_then_act
    try:
        yield
    finally:
        store.commit_point = real


def poll(cond: Callable[[], T], timeout: float = 60, every: float = 0.05, what: str = "condition") -> T:
    """Poll a condition from a sync test (one that drives subprocesses) until it is truthy; return its value.

    The one polling loop of the sync tests, as `wait_for` is of the async ones. The timeout is generous:
    the machine may be loaded, and a test never relies on timing.
    """
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} not met in {timeout:g}s")
        time.sleep(every)


def cli_env(db: Path | str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = os.pathsep.join([str(APPS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if db is not None:
        env["JOBTUI_DB"] = str(db)
    env.update(extra)
    return env


def jobtui(*args: str, db: Path | str | None, input: str | None = None, timeout: float = 60, process: bool = False,
           cwd: Path | str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in `cwd`: its `main(argv)` in this process (tests/inprocess.py) unless a process is the
    point (`process=True`, a command that runs until stopped, an interpreter-start variable), else `python -m jobtui`."""
    full = cli_env(db, **env)
    if not process and in_process_ok(args, full, env, cwd):
        return run_in_process(args, full, input, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "jobtui", *args], capture_output=True, text=True, env=full, input=input, timeout=timeout,
        cwd=cwd,
    )


def cli_submit(db: Path | str, type: str, *args: str) -> int:
    """Submit a job with the real CLI (`jobtui submit TYPE ARGS`); return its id."""
    r = jobtui("submit", type, *args, db=db)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def cli_show(db: Path | str, job_id: int, *args: str) -> dict[str, Any]:
    """Return a job's detail as `jobtui show ID --json ARGS` prints it."""
    r = jobtui("show", str(job_id), "--json", *args, db=db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def spawn_runner(db: Path | str, *args: str, stdout: int | IO[str] = subprocess.PIPE,
                 stderr: int | IO[str] = subprocess.PIPE, **env: str) -> subprocess.Popen[str]:
    """Start `jobtui run *args` on `db` in a subprocess (stdout and stderr piped unless given); `env` adds variables.

    Every test that needs a real runner process starts it here; `stop_runner` ends it.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "jobtui", "run", *args], env=cli_env(db, **env), stdin=subprocess.DEVNULL,
        stdout=stdout, stderr=stderr, text=True,
    )


def stop_runner(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30) -> str:
    """Send `sig` to a runner unless it has exited, wait for it to end, and return its stderr ('' if not piped)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    _out, err = proc.communicate(timeout=timeout)
    return err or ""


def dump(db: Path) -> list[str]:
    """Return every row of the database as text (to show it did not change)."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


__all__ = [
    "APPS", "Registry", "cli_env", "dump", "jobtui", "make_client", "poll", "run_idle", "spawn_runner", "stop_runner",
    "wait_for",
]
