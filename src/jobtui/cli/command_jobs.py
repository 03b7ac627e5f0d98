"""Command jobs: `jobtui add -- CMD ...`, `add --shell`, `add --pipeline FILE.toml`, `foreach`.

Everything a command needs to run the same way after a reboot is recorded when it is queued: the
argv (or shell line), the working directory (default: where `add` ran), PATH as it was there, and
the variables named with `--env`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections.abc import Callable
from typing import Any

from ..client import Client
from ..errors import UsageError
from ..jobs.command_params import (
    MAX_RETRIES,
    MAX_WORKERS,
    PAUSE_MODES,
    build_add,
    build_foreach,
    command_args,
    load_pipeline,
    parse_env,
    parse_size,
)
from ..model import LogLine, iso, scrub_urls
from ..redaction import Secrets, redact
from .commands import command
from .deps import add_after_option, parse_after
from .fleet import add_needs_option, parse_needs, say_if_no_runner
from .labels import add_label_option, parse_labels
from .notify import add_notify_options, parse_notify, parse_notify_on
from .parse import int_arg, parse_run_at
from .queue import add_queue_option, parse_queue


def _options(a: argparse.Namespace) -> dict[str, Any]:
    if a.priority is not None and not -1_000_000 <= a.priority <= 1_000_000:
        raise UsageError("--priority must be between -1000000 and 1000000")
    if a.max_retries is not None and a.max_retries < 0:
        raise UsageError("--max-retries must be 0 or more")
    return {"priority": a.priority or 0, "unique_key": a.unique_key, "max_retries": a.max_retries,
            "after": parse_after(a.after), "needs": parse_needs(a), "notify": parse_notify(a), "labels": parse_labels(a),
            "notify_on": parse_notify_on(a),
            "run_at_ms": parse_run_at(a.at), "queue": parse_queue(a)}


# ------------------------------------------------------------------------------------------ commands
def command_job_params(run: str | list[str], a: argparse.Namespace) -> dict[str, Any]:
    """Return the params of a `command` job running `run` (an argv, or a shell line), as `jobtui add` builds them.

    `a` carries the options of `add_command_options`.

    Raises:
        UsageError: an option or the command does not fit.
    """
    given = {o: getattr(a, o) for o in ("cwd", "env", "timeout", "retries", "pause", "output_limit")}
    opts = command_args(shell=run, **given) if isinstance(run, str) else command_args(argv=list(run), **given)
    return build_add(opts)[1]


RETRIES_HELP = "re-run a failing command up to N times with backoff (default: only exit 75, 3 times)"
FOREACH_RETRIES_HELP = "re-run a failing item up to N times with backoff (default 3: any failure, at 2, 4, 8 s)"


def add_command_options(sp: argparse.ArgumentParser, *, foreach: bool = False) -> None:
    """Add the options of a command's stage: --cwd, --env, --timeout, --retries, --pause, --output-limit."""
    sp.add_argument("--cwd", metavar="DIR", help="working folder (default: where you run this)")
    sp.add_argument("--env", action="append", metavar="K=V|K",
                    help="set a variable for the command; K alone takes your current value (repeatable)")
    sp.add_argument("--timeout", metavar="DURATION", help="end the command after this long: 90s, 10m, 2h")
    sp.add_argument("--retries", type=int_arg("--retries", 0, MAX_RETRIES), default=None, metavar="N",
                    help=FOREACH_RETRIES_HELP if foreach else RETRIES_HELP)
    sp.add_argument("--pause", choices=PAUSE_MODES, default=None,
                    help="what pause does to a running command: freeze (SIGSTOP, default) or restart")
    sp.add_argument("--output-limit", metavar="SIZE", help="output logged per job (default 8M); the rest is counted")


def _shared(sp: argparse.ArgumentParser, *, foreach: bool = False) -> None:
    sp.add_argument("--name", help="a name to show in lists (default: the command line)")
    add_command_options(sp, foreach=foreach)
    sp.add_argument("--priority", type=int_arg("--priority"), default=None, help="higher runs first (default 0)")
    sp.add_argument("--at", metavar="TIME", help="not before TIME: +10m, 'in 2h', 2026-12-01T09:00")
    sp.add_argument("--unique-key", metavar="K", help="refuse if an active job has this key")
    sp.add_argument("--max-retries", type=int_arg("--max-retries", 0), default=None,
                    help="automatic retries of the failed job")
    add_after_option(sp)
    add_needs_option(sp)
    add_label_option(sp)
    add_queue_option(sp)
    add_notify_options(sp)


def _add_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--shell", metavar="LINE", help="run LINE with /bin/sh -c instead of an argv")
    sp.add_argument("--pipeline", metavar="FILE.toml", help="queue the [[stage]] commands of a TOML file, in order")
    _shared(sp)
    sp.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARG", help="the command, after --")


def _foreach_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--glob", metavar="PATTERN", help="items: the paths matching PATTERN (** for subfolders)")
    sp.add_argument("--lines", metavar="FILE", help="items: the non-empty lines of FILE ('-': stdin)")
    sp.add_argument("--args", nargs="+", metavar="ITEM", help="items: these arguments")
    sp.add_argument("--workers", type=int_arg("--workers", 1, MAX_WORKERS), default=1, metavar="N", help="items run at once (default 1)")
    sp.add_argument("--allow-failures", metavar="N|P%",
                    help="accept up to N (or P percent of the) items failing for good: the job still completes and"
                         " says so (default 0: any failed item fails the job)")
    _shared(sp, foreach=True)
    sp.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD {} ...",
                    help="the command; {} {name} {stem} {ext} {dir} {index} are replaced, each as one argument")


async def _queue(client: Client, a: argparse.Namespace,
                 build: Callable[[argparse.Namespace], tuple[str, dict[str, Any]]]) -> int:
    """Queue the job `build` makes of the arguments, with the shared options; print its id."""
    opts = _options(a)
    type_name, params = build(a)
    print(await client.submit(type_name, params, **opts), flush=True)
    await say_if_no_runner(client)
    return 0


@command("add", "queue a command (add -- CMD ARG...), a shell line (--shell) or a pipeline (--pipeline F.toml)",
         args=_add_args, order=21)
async def cmd_add(client: Client, a: argparse.Namespace) -> int:
    """Queue one command, one shell line or a pipeline file; print the job's id."""
    return await _queue(client, a, build_add)


@command("foreach", "queue one job that runs a command per file (--glob), line (--lines) or argument (--args)",
         args=_foreach_args, order=22)
async def cmd_foreach(client: Client, a: argparse.Namespace) -> int:
    """Queue one job that runs a command once per item; print its id."""
    return await _queue(client, a, build_foreach)


# ------------------------------------------------------------------------------------------ export / logs
async def write_foreach_csv(client: Client, job_id: int, out: io.TextIOBase | Any, secrets: Secrets | None = None) -> int:
    """Write one row per item of a foreach job: item, status, exit code, duration, attempts, last output."""
    writer = csv.writer(out)
    writer.writerow(["item", "status", "exit_code", "duration_s", "attempts", "output", "error"])
    count = 0
    async for item in client.export(job_id):
        r = item.result if isinstance(item.result, dict) else {}
        output = r.get("output") or []
        writer.writerow([scrub_urls(item.key), item.status.value, "" if r.get("exit_code") is None else r["exit_code"],
                         r.get("duration_s", ""), item.attempts,
                         redact(" | ".join(str(x) for x in output), secrets), redact(item.error or "", secrets)])
        count += 1
    return count


def log_text(line: LogLine, secrets: Secrets, *, as_json: bool, prefix: bool = False) -> str:
    """Return one log line as `logs` prints it: text (`[id] ` first with --all) or, with --json, a JSON object."""
    message = redact(line.message, secrets)
    if as_json:
        return json.dumps({"job_id": line.job_id, "log_id": line.log_id, "ts": iso(line.ts_ms), "level": line.level,
                           "message": message})
    return f"{f'[{line.job_id}] ' if prefix else ''}{iso(line.ts_ms)} {line.level:<7} {message}"


async def follow_all(client: Client, a: argparse.Namespace) -> int:
    """Print every job's log with `[id]` prefixes; with --follow, keep printing new lines (until Ctrl-C)."""
    secrets: dict[int, Secrets] = {}

    async def show(line: LogLine) -> None:
        if line.job_id not in secrets:
            try:
                secrets[line.job_id] = Secrets.of((await client.job(line.job_id)).params)
            except UsageError:  # deleted since
                secrets[line.job_id] = Secrets.of({})
        print(log_text(line, secrets[line.job_id], as_json=a.json, prefix=True))

    lines = await client.all_logs(tail=True, limit=a.lines) if a.lines else []
    last = lines[-1].log_id if lines else await client.last_log_id()
    for line in lines:
        await show(line)
    sys.stdout.flush()
    while a.follow:
        await asyncio.sleep(0.3)
        new = await client.all_logs(after_id=last, limit=5000)
        for line in new:
            await show(line)
            last = line.log_id
        sys.stdout.flush()
    return 0


__all__ = ["cmd_add", "cmd_foreach", "follow_all", "load_pipeline", "parse_env", "parse_size", "write_foreach_csv"]
