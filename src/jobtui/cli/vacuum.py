"""`jobtui vacuum`: give the free pages of the database file back to the disk."""

from __future__ import annotations

import argparse
import sys

from ..client import Client
from ..errors import StoreError
from .commands import command
from .info import human_bytes


@command("vacuum", "rewrite the database file without its free pages (see `stats`)", order=61, creates=False)
async def cmd_vacuum(client: Client, a: argparse.Namespace) -> int:
    """Run VACUUM; it waits for a busy runner's write lock up to the busy timeout, else says so and exits 1."""
    before = await client.db_size()
    try:
        await client.vacuum()
    except StoreError as e:
        print(f"jobtui: error: {e} (a runner may be writing; try again)", file=sys.stderr)
        return 1
    after = await client.db_size()
    was, now = before.file_bytes + before.wal_bytes, after.file_bytes + after.wal_bytes
    print(f"vacuumed {client.location}: {human_bytes(was)} -> {human_bytes(now)}"
          f" (reclaimed {human_bytes(max(0, was - now))})")
    return 0
