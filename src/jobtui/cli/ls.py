"""`jobtui ls`: the job list as a table or JSON (streamed a page at a time)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from ..client import Client
from ..errors import UsageError
from ..model import Job, JobStatus, now_ms
from .columns import COLUMNS, DEFAULT_COLUMNS, Seen, parse_columns, rows
from .commands import command, table
from .labels import active_statuses, add_label_filter, parse_label_filter
from .parse import int_arg, parse_statuses
from .queue import parse_queue


# ------------------------------------------------------------------------------------------------ ls
def _ls_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--status", action="append", help="only these statuses (comma-separated or repeated)")
    sp.add_argument("--type", action="append", help="only these types")
    sp.add_argument("--limit", type=int_arg("--limit", 0), default=None, help="only the newest N")
    sp.add_argument("--unique-key", metavar="K", help="only the jobs with this unique key")
    sp.add_argument("--stage", metavar="NAME", help="only the jobs at this stage (by name)")
    add_label_filter(sp)
    sp.add_argument("--queue", metavar="NAME", help="only the jobs of this queue")
    sp.add_argument("--columns", metavar="COL,COL",
                    help=f"the table's columns, in order: {', '.join(COLUMNS)}"
                         f" (default: {','.join(DEFAULT_COLUMNS)})")
    sp.add_argument("--json", action="store_true", help="JSON array of job objects")
    sp.add_argument("--compact", action="store_true", help=argparse.SUPPRESS)


@command("ls", "list jobs", args=_ls_args, order=21, reads=True)
async def cmd_ls(client: Client, a: argparse.Namespace) -> int:
    """List jobs as a table or JSON."""
    types = [t for v in a.type or [] for t in v.split(",")] or None
    statuses = active_statuses(parse_statuses(a.status), a.active)
    labels = parse_label_filter(a.label)
    columns = parse_columns(a.columns)
    if a.json and a.columns is not None:
        raise UsageError("--columns chooses the table's columns; --json prints every field")
    filtered = a.unique_key is not None or a.stage is not None or bool(labels) or a.queue is not None
    if a.json and not filtered:
        await _ls_json(client, statuses, types, a.limit, compact=a.compact)
        return 0
    jobs = await client.list_jobs(statuses=statuses, types=types, limit=a.limit, newest_first=a.limit is not None,
                                  unique_key=a.unique_key, stage=a.stage, labels=labels, queue=parse_queue(a))
    if a.limit is not None:
        jobs.reverse()
    if a.json:
        tags = await client.job_labels(j.job_id for j in jobs)
        print(json.dumps([{**j.to_dict(), "labels": dict(tags.get(j.job_id, ()))} for j in jobs],
                         indent=None if a.compact else 2))
        return 0
    if not jobs:
        print("no jobs")
        return 0
    waiting = await client.waiting_on(j.job_id for j in jobs if j.status is JobStatus.BLOCKED)
    seen = Seen(now_ms(), waiting, await client.unmet_needs(jobs),
                await client.job_labels(j.job_id for j in jobs) if "labels" in columns else {})
    print(table(rows(jobs, columns, seen)))
    return 0


async def _ls_json(client: Client, statuses: list[str] | None, types: list[str] | None, limit: int | None, *,
                   compact: bool) -> None:
    """Write the JSON array of jobs a page at a time: memory stays bounded whatever the number of jobs.

    The text is what `json.dumps(list, indent=2)` (or, `compact`, with no indent) would print.
    """
    out = sys.stdout
    sep, opening, closing = (", ", "[", "]") if compact else (",\n", "[\n", "\n]")
    count = 0
    page: list[Job] = []

    async def flush() -> None:
        nonlocal count
        waiting = await client.waiting_on(j.job_id for j in page if j.status is JobStatus.BLOCKED)
        needs = await client.job_needs(j.job_id for j in page)
        tags = await client.job_labels(j.job_id for j in page)
        for j in page:
            obj = j.to_dict()
            obj["labels"] = dict(tags.get(j.job_id, ()))
            if j.job_id in waiting:
                obj["waiting_on"] = [r.job_id for r in waiting[j.job_id]]
            if j.job_id in needs:
                obj["needs"] = list(needs[j.job_id])
            text = json.dumps(obj) if compact else textwrap.indent(json.dumps(obj, indent=2), "  ")
            out.write((sep if count else opening) + text)
            count += 1
        page.clear()

    async for job in client.iter_jobs(statuses=statuses, types=types, newest=limit):
        page.append(job)
        if len(page) >= 500:
            await flush()
    await flush()
    out.write((closing if count else "[]") + "\n")
    out.flush()
