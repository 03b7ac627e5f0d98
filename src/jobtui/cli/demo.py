"""`jobtui demo`: the TUI (or a progress line) on a demo database beside the default one.

The story it keeps (README, "The demo"):
- `jobtui demo` opens the TUI on a fresh demo database (the old one, its WAL and its `demo.workspaces/`
  are removed first) -- unless a runner still works on the demo database (e.g. the background runner a
  quit handed the jobs to): then it attaches to that runner, and deletes nothing.
- `jobtui demo --headless` continues the demo database that exists (its jobs resume where they
  stopped), or seeds a fresh one; `--fresh` starts over (refused while a runner works on it).
- With `--db PATH` the file is never deleted: it is seeded when it has no jobs, else continued.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from ..client import Client, default_db_path
from ..errors import UsageError
from .commands import Command, register
from .tui import open_tui, tui_options


def demo_db_path() -> Path:
    """Return the demo database path (beside the default database)."""
    return default_db_path().parent / "demo.db"


def _demo_args(sp: argparse.ArgumentParser) -> None:
    tui_options(sp, defaults=False)
    sp.add_argument("--headless", action="store_true",
                    help="no TUI: run the demo here with a progress line (continues the demo database)")
    sp.add_argument("--fresh", action="store_true", help="start over on a fresh demo database")


async def cmd_demo(a: argparse.Namespace) -> int:
    """Open the demo in the TUI or headless (see the module docstring for which database)."""
    own = a.db is None
    db = Path(a.db) if a.db is not None else demo_db_path()
    headless = bool(getattr(a, "headless", False))
    fresh = bool(getattr(a, "fresh", False)) or (own and not headless)
    if fresh and not own:
        raise UsageError("--fresh deletes only the default demo database; leave out --db, or delete the file yourself")
    if db.exists():
        client = await Client.open(db, apps=a.app or (), source="tui")
        try:
            live = await client.live_runners()
            if live and fresh and bool(getattr(a, "fresh", False)):
                pids = ", ".join(str(r.pid) for r in live)
                raise UsageError(f"a runner (pid {pids}) still works on the demo database {db}; stop it first"
                                 " (`jobtui demo` attaches to it)")
            if live and not headless:
                print(f"demo: a runner (pid {live[0].pid}) still runs the demo jobs in {db}; attaching to it",
                      file=sys.stderr)
                a.attach = True
                return await open_tui(client, a)
            if not fresh:
                return await demo_headless(client, seed=not (await client.stats()).total)
        finally:
            await client.close()
        Client.remove_database(db)
    elif own:
        Client.remove_database(db)  # a stale demo.workspaces/ without its database
    client = await Client.open(db, apps=a.app or (), source="tui")
    try:
        if headless:
            return await demo_headless(client, seed=True)
        return await open_tui(client, a, demo=True)
    finally:
        await client.close()


async def demo_headless(client: Client, *, seed: bool) -> int:
    """Run the demo jobs here with a progress line on stderr (seeding them first when `seed`)."""
    from ..seed import seed_demo

    if seed:
        ids = await seed_demo(client)
        print(f"demo: {len(ids)} new jobs in {client.location}", file=sys.stderr)
    else:
        print(f"demo: continuing the jobs in {client.location} (`jobtui demo --headless --fresh` starts over)",
              file=sys.stderr)
    runner = await client.embedded_runner(concurrency=4)
    task = asyncio.create_task(runner.run(exit_when_idle=True))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    print("demo: Ctrl-C stops; the jobs resume with `jobtui demo --headless`", file=sys.stderr)
    while not task.done():
        s = await client.stats()
        line = "  ".join(f"{k} {v}" for k, v in sorted(s.by_status.items()))
        print(f"\r\x1b[K{line}  items {s.items_done}", end="", file=sys.stderr, flush=True)
        await asyncio.wait([task], timeout=0.5)
    print(file=sys.stderr)
    await task
    return 0


register(Command("demo", "open the TUI on a fresh demo database (or attach to the runner still running it)",
                 raw=cmd_demo, args=_demo_args, order=2))
