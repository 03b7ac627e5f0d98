"""The engine depends on the Store contract (store/protocol.py), never on a backend (issue 10)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jobtui

SRC = Path(jobtui.__file__).parent
BACKEND_NAMES = {"Store", "StoreCore", "JobQueries", "RunnerWrites", "DependencyQueries", "NotifyQueries"}
BACKEND_MODULES = {"aiosqlite", "sqlite3", "asyncpg", "psycopg"}


@pytest.mark.slow  # parses every engine module
def test_engine_names_no_backend() -> None:
    bad: list[str] = []
    for path in sorted((SRC / "engine").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if mod.split(".")[0] in BACKEND_MODULES or mod.startswith(("store.", "jobtui.store.")):
                    bad.append(f"{path.name}: from {mod} import ...")
                if mod.endswith("store") and BACKEND_NAMES & {a.name for a in node.names}:
                    bad.append(f"{path.name}: imports a backend class from {mod}")
            elif isinstance(node, ast.Import):
                bad += [f"{path.name}: import {a.name}" for a in node.names if a.name.split(".")[0] in BACKEND_MODULES]
    assert bad == []


@pytest.mark.slow  # parses every engine module
def test_the_engine_sees_only_the_narrow_protocols() -> None:
    """Issue 17: the runner and what runs its jobs are typed against `RunnerStore` (store/consumers.py), not the
    whole `JobStore`: they cannot submit, steer, edit or list jobs (mypy --strict checks every call)."""
    from jobtui.store import RunnerStore

    named = sorted(f"{path.name}: {a.name}" for path in (SRC / "engine").glob("*.py")
                   for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)
                   for a in node.names if a.name == "JobStore")
    assert named == []
    reach = {n for c in RunnerStore.__mro__ for n in vars(c)} | {
        n for c in RunnerStore.__mro__ for n in getattr(c, "__annotations__", {})}
    assert {"claim", "commit_point", "stage_finished", "heartbeat", "fence"} <= reach
    assert not {"add_jobs", "control", "edit_job", "list_jobs"} & reach


def test_sqlite_store_keeps_the_contract() -> None:
    """Every member of the protocol exists on the SQLite store (mypy checks the signatures)."""
    from jobtui.store import JobStore, Store

    members = {n for c in JobStore.__mro__ if c.__module__.endswith("protocol") for n in vars(c)
               if not n.startswith("_")}
    members |= set(getattr(JobStore, "__annotations__", {}))
    missing = sorted(n for n in members if not hasattr(Store, n) and n not in _INSTANCE_ATTRIBUTES)
    assert missing == []


_INSTANCE_ATTRIBUTES = {"clock", "fence", "on_dropped", "on_wake", "commits"}


def test_postgres_store_keeps_the_contract() -> None:
    """Every member of the protocol exists on the PostgreSQL store too (mypy checks the signatures)."""
    from jobtui.store import JobStore
    from jobtui.store.postgres import PgStore

    members = {n for c in JobStore.__mro__ if c.__module__.endswith("protocol") for n in vars(c)
               if not n.startswith("_")}
    members |= set(getattr(JobStore, "__annotations__", {}))
    assert sorted(n for n in members if not hasattr(PgStore, n) and n not in _INSTANCE_ATTRIBUTES) == []


def test_every_member_of_the_contract_is_used_outside_the_store() -> None:
    """Issue 17: no test-only member on the production contract (a test's own reads are in tests/store_inspect.py)."""
    from jobtui.store import JobStore

    members = {n for c in JobStore.__mro__ if c.__module__.startswith("jobtui.store.protocol") for n in vars(c)
               if not n.startswith("_")}
    members |= set(getattr(JobStore, "__annotations__", {}))
    used: set[str] = set()
    # The benchmarks beside the tests (CI installs jobtui into site-packages, where no bench/ is beside it).
    for path in [*SRC.rglob("*.py"), *(Path(__file__).resolve().parents[2] / "bench").glob("*.py")]:
        if path.parent == SRC / "store":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                used.add(node.attr)
    unused = sorted(members - used)
    assert unused == [], unused
