"""`jobtui demo`: the TUI (or a progress line) on a demo database beside the default one."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from ..client import Client, default_db_path
from .commands import Command, register
from .tui import open_tui, tui_options


def demo_db_path() -> Path:
    """Return the demo database path (beside the default database)."""
    return default_db_path().parent / "demo.db"


def _demo_args(sp: argparse.ArgumentParser) -> None:
    tui_options(sp, defaults=False)
    sp.add_argument("--headless", action="store_true", help="no TUI: run the demo with a progress line")


async def cmd_demo(a: argparse.Namespace) -> int:
    """Open the demo: a fresh database of demo jobs, in the TUI or headless."""
    db = a.db
    if db is None:
        db = demo_db_path()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    client = await Client.open(db, apps=a.app or (), source="tui")
    try:
        if a.headless:
            return await demo_headless(client)
        return await open_tui(client, a, demo=True)
    finally:
        await client.close()


async def demo_headless(client: Client) -> int:
    """Run the demo jobs here with a progress line on stderr."""
    from ..seed import seed_demo

    ids = await seed_demo(client)
    runner = await client.embedded_runner(concurrency=4)
    task = asyncio.create_task(runner.run(exit_when_idle=True))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    print(f"demo: {len(ids)} jobs in {client.db_path}; Ctrl-C stops (they resume on the next run)", file=sys.stderr)
    while not task.done():
        s = await client.stats()
        line = "  ".join(f"{k} {v}" for k, v in sorted(s.by_status.items()))
        print(f"\r\x1b[K{line}  items {s.items_done}", end="", file=sys.stderr, flush=True)
        await asyncio.wait([task], timeout=0.5)
    print(file=sys.stderr)
    await task
    return 0


register(Command("demo", "open the TUI on a fresh demo database", raw=cmd_demo, args=_demo_args, order=2))
