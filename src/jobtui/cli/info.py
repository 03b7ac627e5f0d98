"""Commands that describe the database and the job types: stats, types."""

from __future__ import annotations

import argparse
import json

from ..client import Client
from ..model import iso, redact
from .commands import Command, command, register, table
from .fleet import fleet_rows, fleet_summary


def human_bytes(n: int) -> str:
    """Return a byte count for people: 512 B, 3.2 KiB, 41.0 MiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _json_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--json", action="store_true")


@command("stats", "counts by status, items, runners", args=_json_arg, order=60, reads=True)
async def cmd_stats(client: Client, a: argparse.Namespace) -> int:
    """Print counts by status and every registered runner (name, host, pid, tags, jobs, heartbeat, state)."""
    s = await client.stats()
    size = await client.db_size()
    fleet = await client.fleet()
    if a.json:
        print(json.dumps({
            "db": client.location, "total": s.total, "by_status": s.by_status, "by_type": s.by_type,
            "items_done": s.items_done, "items_failed": s.items_failed,
            "db_bytes": size.file_bytes, "wal_bytes": size.wal_bytes, "vacuum_reclaims_bytes": size.free_bytes,
            "runners": [{**f.to_dict(), "hostname": f.info.hostname, "started_at": iso(f.info.started_at_ms),
                         "heartbeat_at": iso(f.info.heartbeat_at_ms)} for f in fleet],
        }, indent=2))
        return 0
    print(f"database  {client.location}")
    print(f"jobs      {s.total}" + "".join(f"  {k} {v}" for k, v in sorted(s.by_status.items())))
    print(f"items     {s.items_done} done, {s.items_failed} failed")
    print(f"size      {human_bytes(size.file_bytes + size.wal_bytes)} (file {human_bytes(size.file_bytes)},"
          f" WAL {human_bytes(size.wal_bytes)}); `jobtui vacuum` would reclaim {human_bytes(size.free_bytes)}")
    if fleet:
        print(f"runners   {len(fleet)}: {fleet_summary(fleet)}")
        print("\n".join("  " + line for line in table(fleet_rows(fleet)).splitlines()))
    else:
        print("runner    none running (start one with `jobtui run`)")
    return 0


async def cmd_types(a: argparse.Namespace) -> int:
    """Print the job types this process knows, with their stages and params (no database needed).

    A secret param's default is never printed: it shows as `***` (issue 6, item 6).
    """
    types = Client.known_types(a.app or ())
    defaults = {t.name: redact({n: None if p.required else p.default for n, p in t.params.items()})
                for t in types}
    if a.json:
        print(json.dumps([
            {"name": t.name, "description": t.description, "stages": list(t.stage_names),
             "params": {n: {"type": p.type.__name__, "default": defaults[t.name][n],
                            "required": p.required, "help": p.help} for n, p in t.params.items()}}
            for t in types
        ], indent=2, default=str))
        return 0
    for t in types:
        print(f"{t.name}  {t.description}")
        print(f"  stages: {' → '.join(t.stage_names)}")
        for n, p in t.params.items():
            if p.required:
                note = " (required)"
            elif "default" in p.help:
                note = ""  # the help says it already
            elif p.default in ("", None):
                note = " (optional)"
            else:
                note = f" (default {defaults[t.name][n]!r})"
            print(f"  -p {n}=<{p.type.__name__}>  {p.help}{note}")
    return 0


register(Command("types", "list job types and their params", raw=cmd_types, args=_json_arg, order=61))
