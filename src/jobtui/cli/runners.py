"""`jobtui runners`: the runners of the database; `jobtui runners stop NAME|--all` asks runners to hand back and exit.

A stop request goes through the database, not a signal (issue 19, item 6): each runner reads it at its next
heartbeat, so a runner on another host of a PostgreSQL fleet stops as one on this host does. It brings its jobs to
a safe point, hands them back to the queue (another runner takes them) and `jobtui run` exits 0 (systemd's
Restart=on-failure leaves it stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..fleet import RunnerHealth
from .commands import Access, add_global_options, command, table
from .fleet import fleet_rows, fleet_summary
from .parse import MAX_WAIT_S, seconds_arg

if TYPE_CHECKING:
    from ..client import Client


def _args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--json", action="store_true", help="a JSON array of runner objects")
    sub = sp.add_subparsers(dest="runners_command", metavar="ACTION")
    stop = sub.add_parser("stop", help="ask runners to hand their jobs back and exit (through the database)",
                          description="ask runners (by name, or every live one) to bring their jobs to a safe point,"
                                      " hand them back to the queue and exit 0; each hears it at its next heartbeat,"
                                      " on this host or another of the fleet")
    stop.add_argument("names", nargs="*", metavar="NAME", help="the runner's name (or id), as `jobtui runners` shows it")
    stop.add_argument("--all", action="store_true", help="every live runner of the database")
    stop.add_argument("--wait", action="store_true", help="return once each has exited (or is no longer alive)")
    stop.add_argument("--timeout", type=seconds_arg("--timeout", 0, MAX_WAIT_S), default=None, metavar="DURATION",
                      help="with --wait: give up after this long, e.g. 30s, 2m (exit 3)")
    add_global_options(stop)


def _access(a: argparse.Namespace) -> Access:
    return "write" if a.runners_command == "stop" else "read"


@command("runners", "list the runners (name, host, pid, tags, jobs, heartbeat, state); runners stop NAME|--all",
         args=_args, order=62, access=_access)
async def cmd_runners(client: Client, a: argparse.Namespace) -> int:
    """Print every registered runner, or ask some to stop."""
    if a.runners_command == "stop":
        return await _stop(client, a)
    runners = await client.fleet()
    if a.json:
        print(json.dumps([r.to_dict() for r in runners], indent=2))
        return 0
    if not runners:
        print("no runners (start one with `jobtui run`)")
        return 0
    print(table(fleet_rows(runners)))
    print(f"{len(runners)} runner(s): {fleet_summary(runners)}")
    return 0


async def _stop(client: Client, a: argparse.Namespace) -> int:
    """Ask the runners named (or every live one) to stop; with --wait, wait until each has exited."""
    if bool(a.names) == a.all:
        raise UsageError("name the runners to stop, or give --all (not both)")
    if a.timeout is not None and not a.wait:
        raise UsageError("--timeout goes with --wait")
    asked = await client.stop_runners(a.names, every=a.all)
    if not asked:
        print("no live runner to stop")
        return 0
    for r in asked:
        held = f"; it hands back {len(r.jobs)} job(s) at their next safe point" if r.jobs else ""
        ttl_s = (r.info.lease_ttl_ms or 15_000) / 3000
        print(f"runner {r.info.label} (host {r.info.hostname}, pid {r.info.pid}): asked to stop within"
              f" {ttl_s:.0f}s{held}", flush=True)
    if not a.wait:
        return 0
    return await _wait_gone(client, {r.info.runner_id: r.info.label for r in asked}, a.timeout)


async def _wait_gone(client: Client, waiting: dict[str, str], limit_s: float | None) -> int:
    """Print each runner of `waiting` (id → name) as it exits; 0 once all have, 3 on timeout."""
    loop = asyncio.get_running_loop()
    deadline = None if limit_s is None else loop.time() + limit_s
    while waiting:
        present = {r.info.runner_id: r for r in await client.fleet()}
        for runner_id, name in list(waiting.items()):
            r = present.get(runner_id)
            if r is None:
                print(f"runner {name}: stopped", flush=True)
            elif r.health is not RunnerHealth.ALIVE:
                print(f"runner {name}: {r.health.value} (its jobs go back at the next recovery)", flush=True)
            else:
                continue
            del waiting[runner_id]
        if not waiting:
            break
        if deadline is not None and loop.time() >= deadline:
            print(f"jobtui: timed out waiting for {len(waiting)} runner(s) to stop: {', '.join(waiting.values())}",
                  file=sys.stderr)
            return 3
        await asyncio.sleep(0.2)
    return 0
