"""Issue 10: the store's identity and workspace root are options of the store, not read off a file path."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobtui import Context, JobType
from jobtui.engine import workspace_root_for
from jobtui.model import JobStatus
from jobtui.store import Store

from ..conftest import make_client, run_idle


async def _write(ctx: Context) -> str:
    (ctx.workspace / "f.txt").write_text("x")
    return str(ctx.workspace)


WS = JobType("ws_where", [_write])


async def test_default_workspace_root_is_beside_the_file(store: Store) -> None:
    assert store.workspace_root == workspace_root_for(store.path)
    assert store.location == str(store.path)


async def test_workspace_root_option_is_used_by_runner_and_delete(tmp_path: Path) -> None:
    shared = tmp_path / "shared-ws"
    store = await Store.open(tmp_path / "a.db", workspace_root=shared)
    try:
        client = make_client(store, WS)
        jid = await client.submit("ws_where")
        await run_idle(client)
        assert (await client.job(jid)).status is JobStatus.COMPLETED
        assert (shared / str(jid) / "f.txt").read_text() == "x"
        assert not workspace_root_for(store.path).exists()
        await client.delete(jid)
        assert not (shared / str(jid)).exists()
    finally:
        await store.close()


async def test_workspace_root_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBTUI_WORKSPACES", str(tmp_path / "envws"))
    store = await Store.open(tmp_path / "b.db")
    try:
        assert store.workspace_root == tmp_path / "envws"
    finally:
        await store.close()


async def test_reopen_is_a_second_connection_with_the_same_options(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "c.db", workspace_root=tmp_path / "w", clock=lambda: 1234)
    other = await store.reopen()
    try:
        assert other is not store and other.location == store.location
        assert other.workspace_root == tmp_path / "w" and other.clock() == 1234
    finally:
        await other.close()
        await store.close()
