"""Several hosts: `--needs` for commands that queue jobs, `--name`/`--tag` for `jobtui run`, and the runner table.

`add_needs_option` is shared by every command that queues jobs (`submit`, `add`, `foreach`): call it on
the subparser, then pass `parse_needs(a)` as the submission's `needs`. `fleet_lines` is what `stats`
and `runners` print for each registered runner.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..fleet import FleetRunner, RunnerHealth, check_name, check_tags, missing_runner, needs_text
from ..model import RUNNABLE, JobDetail

if TYPE_CHECKING:
    from ..client import Client


def add_needs_option(parser: argparse.ArgumentParser) -> None:
    """Add `--needs TAG` (repeatable) to a command that queues jobs."""
    parser.add_argument(
        "--needs", action="append", metavar="TAG", default=None,
        help="run only on a runner with this tag (`jobtui run --tag TAG`); repeatable, or comma-separated",
    )


def parse_needs(a: argparse.Namespace) -> tuple[str, ...]:
    """Return the tags given to `--needs`, checked (UsageError for a bad one)."""
    return check_tags(getattr(a, "needs", None), "--needs")


def needs_of_line(value: object, given: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Return the needs of one `--from` line: its `_needs` (a tag or a list of tags) added to `--needs`.

    Raises:
        UsageError: `_needs` is not a string or a list of strings, or holds a bad tag.
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: _needs must be a tag or a list of tags")
    return check_tags([*given, *value], f"{where}: _needs")


WORKSPACE_NOTE = ("a folder on the host that runs the job: resumed on another host, the job sees that host's"
                  " folder (empty), unless --workspace-root / JOBTUI_WORKSPACES names a folder every host shares")
"""What `show` says of a job's workspace (README, "Several hosts")."""


async def needs_lines(client: Client, d: JobDetail) -> list[str]:
    """Return `show`'s lines on the tags a job needs, and whether any live runner has them."""
    if not d.needs:
        return []
    lines = [f"  needs      {', '.join(d.needs)}"]
    if d.job.status in RUNNABLE and missing_runner(d.needs, await client.live_runners()):
        lines.append(f"  waiting    {needs_text(d.needs)} (no live runner has them all; `jobtui runners`)")
    return lines


def add_runner_options(parser: argparse.ArgumentParser) -> None:
    """Add `--name NAME` and `--tag TAG` (repeatable) to `jobtui run`."""
    parser.add_argument("--name", metavar="NAME", default=None,
                        help="the runner's name in `jobtui runners`, `stats` and the TUI (default HOST-PID)")
    parser.add_argument("--tag", action="append", metavar="TAG", default=None,
                        help="a tag of this runner (repeatable): it runs jobs that need (`--needs`) only tags it has")


def parse_runner_options(a: argparse.Namespace) -> tuple[str | None, tuple[str, ...]]:
    """Return the (name, tags) given to `jobtui run`, checked (UsageError for a bad one)."""
    name = getattr(a, "name", None)
    return (None if name is None else check_name(name)), check_tags(getattr(a, "tag", None), "--tag")


def fleet_rows(runners: Sequence[FleetRunner]) -> list[list[str]]:
    """Return a table of runners: name, host, pid, tags, state, jobs held, heartbeat age."""
    rows = [["NAME", "HOST", "PID", "TAGS", "STATE", "JOBS", "HEARTBEAT"]]
    for r in runners:
        i = r.info
        jobs = f"{len(r.jobs)}/{i.concurrency}"
        if r.jobs:
            shown = ",".join(f"#{j}" for j in r.jobs[:5]) + ("…" if len(r.jobs) > 5 else "")
            jobs += f" {shown}"
        rows.append([i.label, i.hostname, str(i.pid), ",".join(i.tags) or "-", r.health.value, jobs,
                     r.heartbeat_text])
    return rows


def fleet_summary(runners: Sequence[FleetRunner]) -> str:
    """Say how many runners are alive (and how many stale or gone)."""
    alive = sum(r.health is RunnerHealth.ALIVE for r in runners)
    rest = len(runners) - alive
    return f"{alive} alive" + (f", {rest} stale or gone (their jobs go back at the next recovery)" if rest else "")


NO_RUNNER = "jobtui: queued; no runner is running: start one with `jobtui run` or `jobtui`"
"""What add, submit and foreach say when no live runner works on the database (issue 19, item 6)."""


async def say_if_no_runner(client: Client) -> None:
    """Print NO_RUNNER on stderr when no live runner works on the database (the job is queued all the same)."""
    if not await client.live_runners():
        print(NO_RUNNER, file=sys.stderr)
