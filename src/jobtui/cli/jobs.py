"""Commands that queue and steer jobs: submit, pause…delete, fail, wait, rewind, clean."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..client import Client, Submission
from ..errors import UsageError
from ..model import AT_REST, TERMINAL, Action, JobId, JobStatus
from .bulk import add_where_options, check_target, run_where
from .commands import Command, command, register
from .deps import add_after_option, parse_after
from .fleet import add_needs_option, needs_of_line, parse_needs, say_if_no_runner
from .labels import (
    add_label_option,
    labels_of_line,
    parse_labels,
)
from .notify import add_notify_options, parse_notify, parse_notify_on
from .parse import (
    MAX_WAIT_S,
    int_arg,
    load_json,
    params_of,
    parse_duration_ms,
    parse_id,
    parse_run_at,
    parse_statuses,
    read_text,
    seconds_arg,
)
from .queue import add_queue_option, parse_queue
from .template import from_template

MAX_RETRIES = 1_000_000
"""The most automatic retries a job may ask for."""



# -------------------------------------------------------------------------------------------- submit
def _submit_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("type", nargs="?", help="job type (see `jobtui types`); none with --template")
    sp.add_argument("--template", metavar="NAME", help="a saved template's type, params and options (see `jobtui template`)")
    sp.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a param (repeatable)")
    sp.add_argument("--params-json", metavar="JSON", help="params as one JSON object")
    sp.add_argument("--from", dest="from_file", metavar="FILE.jsonl", help="one job per line of params ('-': stdin)")
    sp.add_argument("--priority", type=int_arg("--priority", -1_000_000, 1_000_000), default=None,
                    help="higher runs first (default 0)")
    sp.add_argument("--at", metavar="TIME", help="not before TIME: +10m, 'in 2h', 2026-12-01T09:00")
    sp.add_argument("--unique-key", metavar="K", help="refuse if an active job has this key")
    sp.add_argument("--max-retries", type=int_arg("--max-retries", 0, MAX_RETRIES), default=None,
                    help="automatic retries of the failed job")
    sp.add_argument("--timeout", metavar="DURATION",
                    help="fail a run of the job that takes longer (e.g. 30m, 2h; default: the job type's limit)")
    add_after_option(sp)
    add_needs_option(sp)
    add_label_option(sp)
    add_queue_option(sp)
    add_notify_options(sp)


@command("submit", "queue a job; prints its id", args=_submit_args, order=20)
async def cmd_submit(client: Client, a: argparse.Namespace) -> int:
    """Queue one job, or one per line of --from; print the ids."""
    base = params_of(a)
    run_at = parse_run_at(a.at)
    timeout_ms = parse_duration_ms(a.timeout) if a.timeout else None
    if timeout_ms is not None and timeout_ms <= 0:
        raise UsageError("--timeout must be more than 0")
    subs: list[Submission] = []
    opts: dict[str, Any] = {"priority": a.priority or 0, "run_at_ms": run_at, "max_retries": a.max_retries,
                            "after": parse_after(a.after), "notify": parse_notify(a), "timeout_ms": timeout_ms,
                            "notify_on": parse_notify_on(a),
                            "needs": parse_needs(a), "labels": parse_labels(a), "queue": parse_queue(a)}
    a.type, base, opts = await from_template(client, a, base, opts)
    if a.from_file:
        text = sys.stdin.read() if a.from_file == "-" else read_text(a.from_file)
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            obj = load_json(line, f"{a.from_file}:{n}")
            if not isinstance(obj, dict):
                raise UsageError(f"{a.from_file}:{n}: each line must be a JSON object of params")
            key = obj.pop("_unique_key", None)
            if key is not None and not isinstance(key, str):
                raise UsageError(f"{a.from_file}:{n}: _unique_key must be a string")
            line_opts = opts
            if "_needs" in obj:
                line_opts = {**opts, "needs": needs_of_line(obj.pop("_needs"), opts["needs"], f"{a.from_file}:{n}")}
            if "_labels" in obj:
                line_opts = {**line_opts,
                             "labels": labels_of_line(obj.pop("_labels"), opts["labels"], f"{a.from_file}:{n}")}
            subs.append(Submission(a.type, {**base, **obj}, unique_key=key, **line_opts))
        if not subs:
            raise UsageError(f"{a.from_file}: no jobs in the file")
        if a.unique_key:
            raise UsageError("--unique-key applies to one job; put _unique_key in each line of --from instead")
    else:
        subs.append(Submission(a.type, base, unique_key=a.unique_key, **opts))
    ids = await client.submit_many(subs)
    for job_id in ids:
        print(job_id, flush=True)
    await say_if_no_runner(client)
    return 0


# ----------------------------------------------------------------------------------- control requests
async def cmd_control(client: Client, a: argparse.Namespace) -> int:
    """Send one request to each job (all ids are checked first), or to every job `--where` matches."""
    action = Action(a.command)
    if check_target(a):
        return await run_where(client, a, action)
    # Once each: `resume 3 3` passed the check, resumed job 3, then failed on it (exit 2, a change made).
    ids = list(dict.fromkeys(parse_id(x) for x in a.ids))
    await client.check(ids, action)
    for job_id in ids:
        r = await client.control(job_id, action)
        after = "deleted" if r.after is None else r.after.value
        print(f"job {job_id}: {r.before.value} → {after}")
    return 0


for _order, (_name, _help) in enumerate((
    ("pause", "pause jobs at their next safe point"), ("resume", "resume jobs from their last checkpoint"),
    ("cancel", "cancel jobs"), ("retry", "run failed jobs again now"),
    ("delete", "delete jobs with their items, logs and workspace"),
), start=30):
    register(Command(_name, _help, run=cmd_control, args=add_where_options, order=_order, creates=False))


def _fail_args(sp: argparse.ArgumentParser) -> None:
    add_where_options(sp)
    sp.add_argument("--reason", required=True, metavar="TEXT", help="why (kept as the job's error message)")


@command("fail", "force jobs to fail (an admin's act): a running one is stopped at once", args=_fail_args, order=36)
async def cmd_fail(client: Client, a: argparse.Namespace) -> int:
    """Fail each job with the reason given (all ids are checked first), or every job `--where` matches."""
    if not a.reason.strip():
        raise UsageError("--reason must say why")
    if check_target(a):
        return await run_where(client, a, Action.FAIL, reason=a.reason.strip())
    ids = [parse_id(x) for x in a.ids]
    await client.check(ids, Action.FAIL)
    for job_id in ids:
        r = await client.fail(job_id, a.reason.strip())
        print(f"job {job_id}: {r.before.value} → {r.after.value if r.after else 'deleted'}")
    return 0


# ---------------------------------------------------------------------------------------------- wait
def _wait_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("ids", nargs="+", metavar="ID")
    sp.add_argument("--timeout", type=seconds_arg("--timeout", 0, MAX_WAIT_S), default=None, metavar="DURATION",
                    help="give up after this long, e.g. 90s, 10m, 2h (exit 3); a plain number is seconds")


@command("wait", "wait until jobs end; exit 0 if all completed, 1 if any failed, was cancelled or paused",
         args=_wait_args, order=40, reads=True)
async def cmd_wait(client: Client, a: argparse.Namespace) -> int:
    """Wait until every job has ended (or paused); exit 0 only if all completed."""
    ids = [parse_id(x) for x in a.ids]
    for job_id in ids:
        await client.job(job_id)
    loop = asyncio.get_running_loop()
    deadline = None if a.timeout is None else loop.time() + a.timeout
    final: dict[JobId, JobStatus] = {}
    while True:
        for job_id in ids:
            if job_id not in final:
                job = await client.job(job_id)
                if job.status in AT_REST:
                    final[job_id] = job.status
                    print(f"job {job_id}: {job.status.value}", flush=True)
        if len(final) == len(ids):
            return 0 if all(s is JobStatus.COMPLETED for s in final.values()) else 1
        if deadline is not None and loop.time() >= deadline:
            print(f"jobtui: timed out waiting for {len(ids) - len(final)} job(s)", file=sys.stderr)
            return 3
        await asyncio.sleep(0.2)


# -------------------------------------------------------------------------------------------- rewind
def _rewind_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--to", required=True, metavar="STAGE", help="stage name or 1-based number")


@command("rewind", "run a job again from a stage", args=_rewind_args, order=41, creates=False)
async def cmd_rewind(client: Client, a: argparse.Namespace) -> int:
    """Run a job again from a stage."""
    job_id = parse_id(a.id)
    r = await client.rewind(job_id, a.to)
    print(f"job {job_id}: {r.before.value} → {r.after.value if r.after else 'deleted'} (from stage {a.to})")
    return 0


# --------------------------------------------------------------------------------------------- clean
def _clean_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 7d, 12h; 0 or now: every finished job")
    sp.add_argument("--status", action="append", help="statuses to delete (default: completed, cancelled, failed)")


@command("clean", "delete old finished jobs", args=_clean_args, order=42, creates=False)
async def cmd_clean(client: Client, a: argparse.Namespace) -> int:
    """Delete old finished jobs."""
    # 0 (or now) is every finished job, as `run --keep 0` is accepted (issue 15, item 19).
    older = 0 if a.older_than.strip().lower() in ("0", "now") else parse_duration_ms(a.older_than)
    statuses = parse_statuses(a.status) or [s.value for s in TERMINAL]
    ids = await client.clean(older, statuses)
    print(f"deleted {len(ids)} job(s)" + (f": {', '.join(map(str, ids))}" if 0 < len(ids) <= 20 else ""))
    return 0
