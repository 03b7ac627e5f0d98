"""Commands that queue, list, show and steer jobs: submit, ls, show, logs, pause…delete, wait, rewind, clean, export."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..client import Client, Submission
from ..errors import UsageError
from ..fleet import needs_text
from ..model import AT_REST, TERMINAL, Action, Job, JobId, JobStatus, StageStatus, iso, now_ms, redact, waiting_reason
from ..outcome import items_text, process_state, tolerated
from ..printable import PrintableStream
from ..redaction import Secrets
from ..wording import ago, duration, until
from .bulk import add_where_options, check_target, run_where
from .command_jobs import log_text
from .commands import Command, command, register, table
from .deps import add_after_option, parse_after, refs_text
from .fleet import WORKSPACE_NOTE, add_needs_option, needs_lines, needs_of_line, parse_needs, say_if_no_runner
from .labels import (
    active_statuses,
    add_label_filter,
    add_label_option,
    label_lines,
    labels_of_line,
    parse_label_filter,
    parse_labels,
)
from .notify import add_notify_options, notify_lines, parse_notify, parse_notify_on
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
from .queue import add_queue_option, parse_queue, queue_lines
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


# ------------------------------------------------------------------------------------------------ ls
def _ls_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--status", action="append", help="only these statuses (comma-separated or repeated)")
    sp.add_argument("--type", action="append", help="only these types")
    sp.add_argument("--limit", type=int_arg("--limit", 0), default=None, help="only the newest N")
    sp.add_argument("--unique-key", metavar="K", help="only the jobs with this unique key")
    sp.add_argument("--stage", metavar="NAME", help="only the jobs at this stage (by name)")
    add_label_filter(sp)
    sp.add_argument("--queue", metavar="NAME", help="only the jobs of this queue")
    sp.add_argument("--json", action="store_true", help="JSON array of job objects")
    sp.add_argument("--compact", action="store_true", help=argparse.SUPPRESS)


@command("ls", "list jobs", args=_ls_args, order=21, reads=True)
async def cmd_ls(client: Client, a: argparse.Namespace) -> int:
    """List jobs as a table or JSON."""
    types = [t for v in a.type or [] for t in v.split(",")] or None
    statuses = active_statuses(parse_statuses(a.status), a.active)
    labels = parse_label_filter(a.label)
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
    waiting = await client.waiting_on(j.job_id for j in jobs if j.status is JobStatus.BLOCKED)
    if not jobs:
        print("no jobs")
        return 0
    unmet = await client.unmet_needs(jobs)
    now = now_ms()
    rows = [["ID", "TYPE", "STATUS", "STAGE", "PROGRESS", "ITEMS", "UPDATED", "NAME"]]
    for j in jobs:
        step = f"{min(j.current_step_index + 1, j.total_steps)}/{j.total_steps} {j.current_step or ''}".strip()
        if j.job_id in waiting:
            step = waiting_reason(waiting[j.job_id])
        elif j.job_id in unmet:
            step = needs_text(unmet[j.job_id])
        elif j.status is JobStatus.QUEUED and j.run_at_ms is not None and j.run_at_ms > now:
            step = f"starts {until(j.run_at_ms, now)}"
        items = items_text(j)
        name = redact(j.name, Secrets.of(j.params)) if j.name else ""
        rows.append([str(j.job_id), j.type, j.status.value, step, f"{j.progress * 100:.0f}%", items,
                     ago(j.updated_at_ms, now), name[:60]])
    print(table(rows))
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


# ---------------------------------------------------------------------------------------------- show
def _show_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true", help="the job detail object")


@command("show", "show one job with its stages", args=_show_args, order=22, reads=True)
async def cmd_show(client: Client, a: argparse.Namespace) -> int:
    """Print one job's detail."""
    job_id = parse_id(a.id)
    d = await client.detail(job_id)
    secrets = Secrets.of(d.job.params)
    errors = await client.attempt_errors(job_id)
    history = await client.history(job_id)
    if a.json:
        out = d.to_dict()
        out["attempt_errors"] = [redact(e.to_dict(d.job.stage_names), secrets) for e in errors]
        out["history"] = [redact(h.to_dict(), secrets) for h in history]
        print(json.dumps(out, indent=2))
        return 0
    j = d.job
    shown = d.to_dict()  # the redacted fields
    print(f"job {j.job_id}  {j.type}  {j.status.value}")
    print(f"  progress   {j.progress * 100:.0f}%  stage {min(j.current_step_index + 1, j.total_steps)}/{j.total_steps}"
          f" {j.current_step or ''}  {shown['progress_message'] or ''}".rstrip())
    print(f"  params     {json.dumps(shown['params'])}")
    for proc in shown.get("processes", []):
        if proc["slot"] == "":
            state = process_state(proc, j)
            print(f"  command    {shlex.join(proc['argv'])}  (stage {proc['stage_index'] + 1}, pid {proc['pid']}, {state})")
            if proc["cwd"]:
                print(f"  cwd        {proc['cwd']}")
    if d.waiting_on and j.status is JobStatus.BLOCKED:
        print(f"  blocked    {waiting_reason(d.waiting_on)}")
    for line in await needs_lines(client, d):
        print(line)
    for line in label_lines(d.labels):
        print(line)
    for line in queue_lines(j):
        print(line)
    if d.depends_on:
        print(f"  after      {refs_text(d.depends_on)}")
    if d.dependents:
        print(f"  dependents {refs_text(d.dependents)}")
    for label, value in (
        ("pause      ", shown["pause_reason"]), ("failed at  ", j.failed_step), ("error      ", shown["error_message"]),
        ("tolerated  ", tolerated(d)),
        ("next retry ", iso(j.next_retry_at_ms)), ("run at     ", iso(j.run_at_ms)), ("unique key ", shown["unique_key"]),
    ):
        if value:
            print(f"  {label}{value}")
    print(f"  job retries {j.retry_count}/{j.max_retries}   resumes {j.resume_count}   recoveries {j.recovery_count}"
          f"   priority {j.priority}   consecutive item failures {j.consecutive_failures}")
    if j.timeout_ms is not None:
        print(f"  timeout    {duration(j.timeout_ms)} per run")
    print(f"  created    {iso(j.created_at_ms)}   started {iso(j.started_at_ms) or '-'}   updated {iso(j.updated_at_ms)}")
    print("  stages")
    rows = [["#", "NAME", "STATUS", "STAGE TRY", "RUNS", "FAILURES", "ITEMS", "DURATION", "ERROR"]]
    for s in d.stages:
        items = "" if s.items_total is None and not s.items_done else \
            f"{s.items_done}/{s.items_total if s.items_total is not None else '?'}"
        if s.items_failed:
            items += f" ({s.items_failed} failed)"
        dur = "" if s.duration_ms is None else f"{s.duration_ms / 1000:.1f}s"
        rows.append([str(s.index + 1), s.name, s.status.value, f"{s.attempts}/{s.max_attempts}" if s.attempts else "-",
                     str(s.runs) if s.runs else "-", str(s.failures) if s.failures else "-",
                     items, dur, redact(s.error or "", secrets)[:60]])
    print("\n".join("    " + line for line in table(rows).splitlines()))
    secrets = Secrets.of(j.params)
    outputs = [s for s in d.stages if s.status is StageStatus.COMPLETED and s.output is not None]
    if outputs:
        print("  outputs    (whole in `show --json`)")
        for s in outputs:
            print(f"    {s.name}: {output_text(redact(s.output, secrets))}")
    shown_history = [h for h in history if h.action != "submit"]
    if shown_history:
        print("  history")
        for h in shown_history:
            why = f"  ({redact(h.detail, secrets)})" if h.detail else ""
            print(f"    {iso(h.ts_ms)}  {h.action:<8} {h.from_status} → {h.to_status}  by {h.source}{why}")
    for s in d.stages:
        if s.traceback:
            print(f"  traceback of {s.name}")
            print("\n".join("    " + line for line in str(redact(s.traceback, secrets)).splitlines()))
    for line in notify_lines(d):
        print(line)
    if d.files:
        print("  files")
        for f in d.files:
            print(f"    {f.path}  {f.size} bytes  sha256 {f.sha256[:16]}")
    if d.files or d.needs or client.workspace(j.job_id).exists():
        print(f"  workspace  {client.workspace(j.job_id)}")
        print(f"             {WORKSPACE_NOTE}")
    return 0


def output_text(value: Any, limit: int = 200) -> str:
    """Return a stage output as one line of JSON, shortened to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------- logs
def _logs_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id", nargs="?")
    sp.add_argument("--all", action="store_true", help="every job's log, each line prefixed with [id]")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends (--all: until Ctrl-C)")
    sp.add_argument("-n", "--lines", type=int_arg("--lines", 0), default=200, help="last N lines (default 200)")
    sp.add_argument("--raw", action="store_true",
                    help="print lines exactly as stored, terminal escapes included (default: shown as \\x1b)")
    sp.add_argument("--json", action="store_true",
                    help="one JSON object a line: job_id, log_id, ts, level, message (secrets redacted)")


@command("logs", "print a job's log", args=_logs_args, order=23, reads=True)
async def cmd_logs(client: Client, a: argparse.Namespace) -> int:
    """Print a job's log (and follow it); with --all, every job's."""
    if a.all:
        from .command_jobs import follow_all

        if a.id is not None:
            raise UsageError("give a job id or --all, not both")
        return await follow_all(client, a)
    if a.id is None:
        raise UsageError("logs needs a job id (or --all for every job)")
    job_id = parse_id(a.id)
    secrets = Secrets.of((await client.job(job_id)).params)
    lines = await client.logs(job_id, tail=True, limit=a.lines)
    last = 0
    for line in lines:
        # Lines are scrubbed when written; again here for lines older than a redaction rule.
        print(log_text(line, secrets, as_json=a.json), flush=False)
        last = line.log_id
    sys.stdout.flush()
    while a.follow:
        await asyncio.sleep(0.3)
        new = await client.logs(job_id, after_id=last, limit=5000)
        for line in new:
            print(log_text(line, secrets, as_json=a.json))
            last = line.log_id
        sys.stdout.flush()
        if not new and (await client.job(job_id)).status in TERMINAL:
            break
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


# -------------------------------------------------------------------------------------------- export
def _refuse_database_files(client: Client, output: str) -> None:
    """Refuse an output path that is the database or one of its -wal/-shm/-journal files (symlinks resolved).

    `export 1 -o jobs.db` truncated the database to 0 bytes before writing a line.
    """
    if not client.is_file_db:
        return
    target = Path(output).expanduser().resolve()
    db = client.db_path.resolve()
    if target in {db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))}:
        raise UsageError(f"cannot export to {output}: it is the job database (or its journal), choose another file")


def _export_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sp.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    sp.add_argument("--stages", action="store_true",
                    help="write each stage's output (its return value) instead of the item results")


@command("export", "write a job's item results (or, with --stages, its stage outputs)", args=_export_args, order=43, reads=True)
async def cmd_export(client: Client, a: argparse.Namespace) -> int:
    """Write a job's item results (or stage outputs) as JSON lines or CSV."""
    job_id = parse_id(a.id)
    job = await client.job(job_id)
    secrets = Secrets.of(job.params)
    out: io.TextIOBase
    if a.output and a.output != "-":
        _refuse_database_files(client, a.output)
        try:
            # The CLI's event loop serves this one command (no TUI, no runner): a blocking open is fine.
            out = open(a.output, "w", newline="")  # noqa: SIM115, ASYNC230 - closed below
        except OSError as e:
            raise UsageError(f"cannot write {a.output}: {e.strerror or e}") from None
        if a.format == "csv":  # for people and spreadsheets: escapes shown, as on stdout (JSON lines stay exact)
            out = PrintableStream(out)  # type: ignore[assignment]
    else:
        out = sys.stdout  # type: ignore[assignment]
    count = 0
    per_item = a.format == "csv" and job.type == "foreach"
    try:
        writer = csv.writer(out) if a.format == "csv" and not per_item else None
        if per_item and not a.stages:
            # One row per item: the command's exit code, duration, attempts and last lines of output.
            from .command_jobs import write_foreach_csv

            count = await write_foreach_csv(client, job_id, out, secrets)
            what = "item(s)"
        elif a.stages:
            if writer is not None:
                writer.writerow(["stage", "index", "status", "output"])
            for st in await client.stage_outputs(job_id):
                count += 1
                output = redact(st.output, secrets)
                if writer is not None:
                    writer.writerow([st.name, st.index + 1, st.status.value,
                                     "" if output is None else json.dumps(output, default=str)])
                else:
                    out.write(json.dumps({"stage": st.name, "index": st.index + 1, "status": st.status.value,
                                          "output": output}, default=str) + "\n")
            what = "stage output(s)"
        else:
            what = "item(s)"
            if writer is not None:
                writer.writerow(["stage", "key", "status", "result", "error", "attempts", "updated_at"])
            async for item in client.export(job_id):
                count += 1
                result = redact(item.result, secrets)
                if writer is not None:
                    writer.writerow([item.stage, redact(item.key, secrets), item.status.value,
                                     "" if result is None else json.dumps(result),
                                     redact(item.error or "", secrets), item.attempts, iso(item.updated_at_ms)])
                else:
                    out.write(json.dumps({"stage": item.stage, "key": redact(item.key, secrets),
                                          "status": item.status.value, "result": result,
                                          "error": redact(item.error, secrets), "attempts": item.attempts,
                                          "updated_at": iso(item.updated_at_ms)}) + "\n")
        out.flush()
    except OSError as e:  # a full disk, /dev/full, a closed pipe
        raise UsageError(f"cannot write {a.output or 'stdout'}: {e.strerror or e}") from None
    finally:
        if out is not sys.stdout:
            with contextlib.suppress(OSError):  # already said above
                out.close()
    if a.output and a.output != "-":
        print(f"exported {count} {what} to {a.output}", file=sys.stderr)
    return 0
