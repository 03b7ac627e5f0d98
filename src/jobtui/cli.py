"""The command line: `jobtui` opens the TUI; `jobtui run` is the headless runner; the rest script the jobs.

Bad input gets one line on stderr and exit status 2; a database that cannot be used gets exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from .client import Client, Submission, default_db_path
from .errors import JobtuiError, StoreError, UsageError
from .model import TERMINAL, Action, JobId, JobStatus, iso, now_ms, redact, scrub_urls
from .tui.format import ago  # pure wording helpers; no Textual import

EXIT_USAGE = 2
EXIT_STORE = 1

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration_ms(text: str) -> int:
    """Parse '90s', '5m', '1h30m', '7d' into milliseconds.

    Raises:
        UsageError: not a duration.
    """
    t = text.strip().lower().replace(" ", "")
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise UsageError(f"bad duration {text!r} (examples: 90s, 5m, 1h30m, 7d)")
    return int(total)


def parse_time_ms(text: str, now: int | None = None) -> int:
    """Parse 'now', '+10m', 'in 2h' or an ISO 8601 date/time (local time unless it says otherwise).

    Raises:
        UsageError: not a time.
    """
    now = now_ms() if now is None else now
    t = text.strip()
    if t.lower() == "now":
        return now
    if t.startswith("+") or t.lower().startswith("in "):
        return now + parse_duration_ms(t.lstrip("+")[3:] if t.lower().startswith("in ") else t[1:])
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        try:
            dt = datetime.combine(datetime.now().date(), datetime.strptime(t, "%H:%M").time())
        except ValueError:
            raise UsageError(f"bad time {text!r} (examples: +10m, 'in 2h', 2026-12-01T09:00, 14:30)") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return int(dt.timestamp() * 1000)


def parse_id(text: str) -> JobId:
    """Parse a job id.

    Raises:
        UsageError: not a positive whole number.
    """
    t = text.strip().lstrip("#")
    if not t.isdigit() or int(t) <= 0:
        raise UsageError(f"bad job id {text!r} (job ids are positive whole numbers, as `jobtui ls` shows)")
    return int(t)


def parse_kv(pairs: Sequence[str]) -> dict[str, Any]:
    """Parse `key=value` params; a value that is valid JSON (number, list, object, true) is taken as such."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad param {pair!r} (expected key=value)")
        out[key.strip()] = value
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"jobtui: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


# ------------------------------------------------------------------------------------------ commands
async def cmd_submit(client: Client, a: argparse.Namespace) -> int:
    base: dict[str, Any] = {}
    if a.params_json:
        try:
            loaded = json.loads(a.params_json)
        except json.JSONDecodeError as e:
            raise UsageError(f"--params-json is not valid JSON: {e.msg} at char {e.pos}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--params-json must be a JSON object")
        base.update(loaded)
    base.update(parse_kv(a.param or []))
    run_at = parse_time_ms(a.at) if a.at else None
    if a.priority is not None and not -1_000_000 <= a.priority <= 1_000_000:
        raise UsageError("--priority must be between -1000000 and 1000000")
    if a.max_retries is not None and a.max_retries < 0:
        raise UsageError("--max-retries must be 0 or more")
    subs: list[Submission] = []
    opts: dict[str, Any] = dict(priority=a.priority or 0, run_at_ms=run_at, max_retries=a.max_retries)
    if a.from_file:
        text = sys.stdin.read() if a.from_file == "-" else _read_text(a.from_file)
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{a.from_file}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{a.from_file}:{n}: each line must be a JSON object of params")
            key = obj.pop("_unique_key", None)
            subs.append(Submission(a.type, {**base, **obj}, unique_key=key, **opts))
        if not subs:
            raise UsageError(f"{a.from_file}: no jobs in the file")
        if a.unique_key:
            raise UsageError("--unique-key applies to one job; put _unique_key in each line of --from instead")
    else:
        subs.append(Submission(a.type, base, unique_key=a.unique_key, **opts))
    ids = await client.submit_many(subs)
    for job_id in ids:
        print(job_id)
    return 0


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None


def _statuses(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    out = []
    for v in values:
        for s in v.split(","):
            s = s.strip().lower()
            if s not in JobStatus.__members__.values():
                raise UsageError(f"bad status {s!r} (one of: {', '.join(x.value for x in JobStatus)})")
            out.append(s)
    return out


async def cmd_ls(client: Client, a: argparse.Namespace) -> int:
    types = [t for v in a.type or [] for t in v.split(",")] or None
    jobs = await client.list_jobs(statuses=_statuses(a.status), types=types, limit=a.limit, newest_first=a.limit is not None)
    if a.limit is not None:
        jobs.reverse()
    if a.json:
        print(json.dumps([j.to_dict() for j in jobs], indent=None if a.compact else 2))
        return 0
    if not jobs:
        print("no jobs")
        return 0
    now = now_ms()
    rows = [["ID", "TYPE", "STATUS", "STAGE", "PROGRESS", "ITEMS", "UPDATED"]]
    for j in jobs:
        step = f"{min(j.current_step_index + 1, j.total_steps)}/{j.total_steps} {j.current_step or ''}".strip()
        items = f"{j.items_done}" + (f" ({j.items_failed} failed)" if j.items_failed else "")
        rows.append([str(j.job_id), j.type, j.status.value, step, f"{j.progress * 100:.0f}%", items, ago(j.updated_at_ms, now)])
    print(_table(rows))
    return 0


async def cmd_show(client: Client, a: argparse.Namespace) -> int:
    job_id = parse_id(a.id)
    d = await client.detail(job_id)
    errors = await client.attempt_errors(job_id)
    if a.json:
        out = d.to_dict()
        out["attempt_errors"] = [
            {"stage": d.job.stage_names[s] if s < len(d.job.stage_names) else s, "attempt": n, "failed_at": iso(t),
             "error": e, "transient": tr}
            for s, n, t, e, tr in errors
        ]
        print(json.dumps(out, indent=2))
        return 0
    j = d.job
    print(f"job {j.job_id}  {j.type}  {j.status.value}")
    print(f"  progress   {j.progress * 100:.0f}%  stage {min(j.current_step_index + 1, j.total_steps)}/{j.total_steps}"
          f" {j.current_step or ''}  {j.progress_message or ''}".rstrip())
    print(f"  params     {json.dumps(redact(j.params))}")
    for label, value in (
        ("pause      ", j.pause_reason), ("failed at  ", j.failed_step), ("error      ", j.error_message),
        ("next retry ", iso(j.next_retry_at_ms)), ("run at     ", iso(j.run_at_ms)), ("unique key ", j.unique_key),
    ):
        if value:
            print(f"  {label}{value}")
    print(f"  retries    {j.retry_count}/{j.max_retries}   resumes {j.resume_count}   recoveries {j.recovery_count}"
          f"   priority {j.priority}")
    print(f"  created    {iso(j.created_at_ms)}   started {iso(j.started_at_ms) or '-'}   updated {iso(j.updated_at_ms)}")
    print("  stages")
    rows = [["#", "NAME", "STATUS", "ATTEMPTS", "ITEMS", "DURATION", "ERROR"]]
    for s in d.stages:
        items = "" if s.items_total is None and not s.items_done else f"{s.items_done}/{s.items_total if s.items_total is not None else '?'}"
        if s.items_failed:
            items += f" ({s.items_failed} failed)"
        dur = "" if s.duration_ms is None else f"{s.duration_ms / 1000:.1f}s"
        rows.append([str(s.index + 1), s.name, s.status.value, f"{s.attempts}/{s.max_attempts}" if s.attempts else "-",
                     items, dur, (s.error or "")[:60]])
    print("\n".join("    " + line for line in _table(rows).splitlines()))
    if d.files:
        print("  files")
        for f in d.files:
            print(f"    {f.path}  {f.size} bytes  sha256 {f.sha256[:16]}")
    return 0


async def cmd_logs(client: Client, a: argparse.Namespace) -> int:
    job_id = parse_id(a.id)
    await client.job(job_id)
    lines = await client.logs(job_id, tail=True, limit=a.lines)
    last = 0
    for line in lines:
        print(f"{iso(line.ts_ms)} {line.level:<7} {line.message}", flush=False)
        last = line.log_id
    sys.stdout.flush()
    while a.follow:
        await asyncio.sleep(0.3)
        new = await client.logs(job_id, after_id=last, limit=5000)
        for line in new:
            print(f"{iso(line.ts_ms)} {line.level:<7} {line.message}")
            last = line.log_id
        sys.stdout.flush()
        if not new and (await client.job(job_id)).status in TERMINAL:
            break
    return 0


async def cmd_control(client: Client, a: argparse.Namespace) -> int:
    action = Action(a.command)
    ids = [parse_id(x) for x in a.ids]
    await client.check(ids, action)
    for job_id in ids:
        r = await client.control(job_id, action)
        after = "deleted" if r.after is None else r.after.value
        print(f"job {job_id}: {r.before.value} → {after}")
    return 0


async def cmd_wait(client: Client, a: argparse.Namespace) -> int:
    """Wait until every job has ended (or paused); exit 0 only if all completed."""
    ids = [parse_id(x) for x in a.ids]
    for job_id in ids:
        await client.job(job_id)
    if a.timeout is not None and a.timeout < 0:
        raise UsageError("--timeout must be 0 or more")
    loop = asyncio.get_running_loop()
    deadline = None if a.timeout is None else loop.time() + a.timeout
    settled = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PAUSED}
    final: dict[JobId, JobStatus] = {}
    while True:
        for job_id in ids:
            if job_id not in final:
                job = await client.job(job_id)
                if job.status in settled:
                    final[job_id] = job.status
                    print(f"job {job_id}: {job.status.value}", flush=True)
        if len(final) == len(ids):
            return 0 if all(s is JobStatus.COMPLETED for s in final.values()) else 1
        if deadline is not None and loop.time() >= deadline:
            print(f"jobtui: timed out waiting for {len(ids) - len(final)} job(s)", file=sys.stderr)
            return 3
        await asyncio.sleep(0.2)


async def cmd_rewind(client: Client, a: argparse.Namespace) -> int:
    job_id = parse_id(a.id)
    r = await client.rewind(job_id, a.to)
    print(f"job {job_id}: {r.before.value} → {r.after.value if r.after else 'deleted'} (from stage {a.to})")
    return 0


async def cmd_clean(client: Client, a: argparse.Namespace) -> int:
    older = parse_duration_ms(a.older_than)
    statuses = _statuses(a.status) or [s.value for s in TERMINAL]
    ids = await client.clean(older, statuses)
    print(f"deleted {len(ids)} job(s)" + (f": {', '.join(map(str, ids))}" if 0 < len(ids) <= 20 else ""))
    return 0


async def cmd_export(client: Client, a: argparse.Namespace) -> int:
    job_id = parse_id(a.id)
    await client.job(job_id)
    out: io.TextIOBase
    if a.output and a.output != "-":
        try:
            out = open(a.output, "w", newline="")  # noqa: SIM115 - closed below
        except OSError as e:
            raise UsageError(f"cannot write {a.output}: {e.strerror or e}") from None
    else:
        out = sys.stdout  # type: ignore[assignment]
    count = 0
    try:
        writer = csv.writer(out) if a.format == "csv" else None
        if writer is not None:
            writer.writerow(["stage", "key", "status", "result", "error", "attempts", "updated_at"])
        async for item in client.export(job_id):
            count += 1
            result = redact(item.result) if isinstance(item.result, dict) else item.result
            if writer is not None:
                writer.writerow([item.stage, scrub_urls(item.key), item.status.value, "" if result is None else json.dumps(result),
                                 item.error or "", item.attempts, iso(item.updated_at_ms)])
            else:
                out.write(json.dumps({"stage": item.stage, "key": scrub_urls(item.key), "status": item.status.value,
                                      "result": result, "error": item.error, "attempts": item.attempts,
                                      "updated_at": iso(item.updated_at_ms)}) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if a.output and a.output != "-":
        print(f"exported {count} item(s) to {a.output}", file=sys.stderr)
    return 0


async def cmd_stats(client: Client, a: argparse.Namespace) -> int:
    s = await client.stats()
    if a.json:
        print(json.dumps({
            "db": str(client.db_path), "total": s.total, "by_status": s.by_status, "by_type": s.by_type,
            "items_done": s.items_done, "items_failed": s.items_failed,
            "runners": [{"runner_id": r.runner_id, "pid": r.pid, "hostname": r.hostname, "concurrency": r.concurrency,
                         "started_at": iso(r.started_at_ms), "heartbeat_at": iso(r.heartbeat_at_ms)} for r in s.runners],
        }, indent=2))
        return 0
    print(f"database  {client.db_path}")
    print(f"jobs      {s.total}" + "".join(f"  {k} {v}" for k, v in sorted(s.by_status.items())))
    print(f"items     {s.items_done} done, {s.items_failed} failed")
    if s.runners:
        for r in s.runners:
            print(f"runner    {r.runner_id} (pid {r.pid}, concurrency {r.concurrency}, started {iso(r.started_at_ms)})")
    else:
        print("runner    none running (start one with `jobtui run`)")
    return 0


async def cmd_types(client: Client, a: argparse.Namespace) -> int:
    types = client.types()
    if a.json:
        print(json.dumps([
            {"name": t.name, "description": t.description, "stages": list(t.stage_names),
             "params": {n: {"type": p.type.__name__, "default": None if repr(p.default) == "REQUIRED" else p.default,
                            "required": repr(p.default) == "REQUIRED", "help": p.help} for n, p in t.params.items()}}
            for t in types
        ], indent=2))
        return 0
    for t in types:
        print(f"{t.name}  {t.description}")
        print(f"  stages: {' → '.join(t.stage_names)}")
        for n, p in t.params.items():
            default = "required" if repr(p.default) == "REQUIRED" else f"default {p.default!r}"
            print(f"  -p {n}=<{p.type.__name__}>  {p.help} ({default})")
    return 0


async def cmd_run(client: Client, a: argparse.Namespace) -> int:
    from .engine.runner import Runner

    if a.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if a.grace < 0:
        raise UsageError("--grace must be 0 or more")

    def event(kind: str, job_id: JobId | None) -> None:
        if not a.quiet and kind in ("started", "completed", "failed", "pause", "cancel", "recovered"):
            print(f"job {job_id}: {kind}", flush=True)

    runner = Runner(client.store, client.registry, concurrency=a.concurrency, grace_s=a.grace,
                    lease_ttl_s=a.lease_ttl, on_event=event)
    client.runner = runner
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            print(f"jobtui run: stopping; bringing {len(runner.runs)} job(s) to a safe point (again to force)",
                  file=sys.stderr, flush=True)
            runner.stop()
        else:
            runner.stop(force=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    print(f"jobtui run: runner {runner.runner_id} on {client.db_path} (concurrency {a.concurrency};"
          f" types: {', '.join(client.registry.names)})", file=sys.stderr, flush=True)
    await runner.run(exit_when_idle=a.exit_when_idle)
    print("jobtui run: stopped", file=sys.stderr, flush=True)
    return 0


async def cmd_demo_headless(client: Client, a: argparse.Namespace) -> int:
    from .seed import seed_demo

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


# ---------------------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help="database file (default: $JOBTUI_DB or the user-data folder)")
    common.add_argument("--app", action="append", default=argparse.SUPPRESS, metavar="MODULE",
                        help="import job types from MODULE (repeatable; also $JOBTUI_APP)")
    p = _Parser(prog="jobtui", description="Durable, steerable background jobs, with a TUI.",
                epilog="With no command, opens the TUI with a runner in the same process.")
    p.add_argument("--db", default=None, help=argparse.SUPPRESS)
    p.add_argument("--app", action="append", default=None, help=argparse.SUPPRESS)
    p.add_argument("--version", action="version", version="jobtui 0.1.0")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    def add(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common], **kw)

    def tui_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
        # On the main parser (bare `jobtui --attach`) with defaults; on `tui`/`demo` without, so
        # that an option given before the command is not reset by the subcommand.
        d: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
        parser.add_argument("--attach", action="store_true", help="no runner here: watch and steer a `jobtui run`",
                            **d)
        parser.add_argument("--readonly", action="store_true", help="show jobs, steer nothing", **d)
        parser.add_argument("--concurrency", type=int, help="jobs the embedded runner runs at once (default 4)",
                            **(d or {"default": 4}))
        parser.add_argument("--theme", help="light, dark (default) or any Textual theme", **(d or {"default": None}))

    tui_options(p, True)
    for name, help in (("tui", "open the TUI (default)"), ("demo", "open the TUI on a fresh demo database")):
        sp = add(name, help)
        tui_options(sp, False)
        if name == "demo":
            sp.add_argument("--headless", action="store_true", help="no TUI: run the demo with a progress line")

    sp = add("run", "run jobs headless until SIGINT/SIGTERM")
    sp.add_argument("--concurrency", type=int, default=4, help="jobs run at once (default 4)")
    sp.add_argument("--exit-when-idle", action="store_true", help="exit once no job is queued, waiting or running")
    sp.add_argument("--grace", type=float, default=10.0, help="seconds a stopping job may take to reach a safe point")
    sp.add_argument("--lease-ttl", type=float, default=15.0, help="seconds without heartbeat before a runner is taken for dead")
    sp.add_argument("--quiet", action="store_true", help="print no line per job event")

    sp = add("submit", "queue a job; prints its id")
    sp.add_argument("type", help="job type (see `jobtui types`)")
    sp.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a param (repeatable)")
    sp.add_argument("--params-json", metavar="JSON", help="params as one JSON object")
    sp.add_argument("--from", dest="from_file", metavar="FILE.jsonl", help="one job per line of params ('-': stdin)")
    sp.add_argument("--priority", type=int, default=None, help="higher runs first (default 0)")
    sp.add_argument("--at", metavar="TIME", help="not before TIME: +10m, 'in 2h', 2026-12-01T09:00")
    sp.add_argument("--unique-key", metavar="K", help="refuse if an active job has this key")
    sp.add_argument("--max-retries", type=int, default=None, help="automatic retries of the failed job")

    sp = add("ls", "list jobs")
    sp.add_argument("--status", action="append", help="only these statuses (comma-separated or repeated)")
    sp.add_argument("--type", action="append", help="only these types")
    sp.add_argument("--limit", type=int, default=None, help="only the newest N")
    sp.add_argument("--json", action="store_true", help="JSON array of job objects")
    sp.add_argument("--compact", action="store_true", help=argparse.SUPPRESS)

    sp = add("show", "show one job with its stages")
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true", help="the job detail object")

    sp = add("logs", "print a job's log")
    sp.add_argument("id")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    sp.add_argument("-n", "--lines", type=int, default=200, help="last N lines (default 200)")

    for name, help in (("pause", "pause jobs at their next safe point"), ("resume", "resume jobs from their last checkpoint"),
                       ("cancel", "cancel jobs"), ("retry", "run failed jobs again now"),
                       ("delete", "delete jobs with their items, logs and workspace")):
        sp = add(name, help)
        sp.add_argument("ids", nargs="+", metavar="ID")

    sp = add("wait", "wait until jobs end; exit 0 if all completed, 1 if any failed, was cancelled or paused")
    sp.add_argument("ids", nargs="+", metavar="ID")
    sp.add_argument("--timeout", type=float, default=None, metavar="S", help="give up after S seconds (exit 3)")

    sp = add("rewind", "run a job again from a stage")
    sp.add_argument("id")
    sp.add_argument("--to", required=True, metavar="STAGE", help="stage name or 1-based number")

    sp = add("clean", "delete old finished jobs")
    sp.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 7d, 12h")
    sp.add_argument("--status", action="append", help="statuses to delete (default: completed, cancelled, failed)")

    sp = add("export", "write a job's item results")
    sp.add_argument("id")
    sp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sp.add_argument("-o", "--output", metavar="FILE", help="default: stdout")

    sp = add("stats", "counts by status, items, runners")
    sp.add_argument("--json", action="store_true")

    sp = add("types", "list job types and their params")
    sp.add_argument("--json", action="store_true")
    return p


COMMANDS: dict[str, Callable[[Client, argparse.Namespace], Awaitable[int]]] = {
    "submit": cmd_submit, "ls": cmd_ls, "show": cmd_show, "logs": cmd_logs, "pause": cmd_control,
    "resume": cmd_control, "cancel": cmd_control, "retry": cmd_control, "delete": cmd_control, "rewind": cmd_rewind,
    "wait": cmd_wait,
    "clean": cmd_clean, "export": cmd_export, "stats": cmd_stats, "types": cmd_types, "run": cmd_run,
}


def demo_db_path() -> Path:
    """Return the demo database path (beside the default database)."""
    return default_db_path().parent / "demo.db"


async def _main(a: argparse.Namespace) -> int:
    command = a.command or "tui"
    db = a.db
    if command == "demo" and db is None:
        db = demo_db_path()
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    client = await Client.open(db, apps=a.app or (), source="tui" if command in ("tui", "demo") else "cli")
    try:
        if command == "demo" and a.headless:
            return await cmd_demo_headless(client, a)
        if command in ("tui", "demo"):
            from .tui.app import run_tui

            return await run_tui(client, a, demo=command == "demo")
        return await COMMANDS[command](client, a)
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exit with its status."""
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        code = asyncio.run(_main(a))
    except UsageError as e:
        print(f"jobtui: error: {e}", file=sys.stderr)
        code = EXIT_USAGE
    except StoreError as e:
        print(f"jobtui: error: {e}", file=sys.stderr)
        code = EXIT_STORE
    except JobtuiError as e:
        print(f"jobtui: error: {e}", file=sys.stderr)
        code = EXIT_STORE
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # `jobtui ls | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    raise SystemExit(code)
