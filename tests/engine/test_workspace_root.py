"""Issue 6, item 7: the `*.workspaces` root is private (0700), like each workspace in it."""

from __future__ import annotations

import os
import stat

from jobtui import Context, JobType
from jobtui.engine import workspace_root_for
from jobtui.store import Store

from ..conftest import make_client, run_idle


async def _write(ctx: Context) -> None:
    (ctx.workspace / "f.txt").write_text("x")


async def test_workspace_root_is_created_0700(store: Store) -> None:
    old = os.umask(0o022)
    try:
        client = make_client(store, JobType("ws_root", [_write]))
        await client.submit("ws_root")
        await run_idle(client)
    finally:
        os.umask(old)
    root = workspace_root_for(store.path)
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700


async def test_an_existing_open_workspace_root_is_tightened(store: Store) -> None:
    root = workspace_root_for(store.path)
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    client = make_client(store, JobType("ws_root", [_write]))
    await client.submit("ws_root")
    await run_idle(client)
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
