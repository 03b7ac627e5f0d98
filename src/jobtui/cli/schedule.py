"""Recurring schedules: `jobtui schedule add|ls|show|pause|resume|rm`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..client import Client
from ..errors import UsageError
from ..jobs.command_params import ProgramNotFoundError
from ..model import Schedule, iso, now_ms
from ..recurrence import Recurrence
from ..wording import ago
from .command_jobs import add_command_options, command_job_params
from .commands import add_global_options, command, table
from .labels import add_label_option, parse_labels
from .notify import add_notify_options, parse_notify, parse_notify_on
from .parse import int_arg, params_of, parse_duration_ms
from .queue import add_queue_option, parse_queue


def _args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a schedule that submits a job of TYPE on a cron expression or period",
                         description="create a schedule: jobtui schedule add NAME (--cron 'EXPR' [--timezone TZ] |"
                                     " --every DURATION) (TYPE [-p k=v ...] | [--shell] -- CMD ARG...)")
    add_global_options(add)
    add.add_argument("name", help="a name for the schedule (letters, digits, '.', '_', '-')")
    add.add_argument("type", metavar="TYPE-or-CMD",
                     help="job type (see `jobtui types`), @TEMPLATE (a saved template, as it is at each firing),"
                          " or after -- a command and its arguments")
    add.add_argument("argv", nargs="*", metavar="ARG", help="the command's arguments")
    add.add_argument("--shell", action="store_true", help="run the words after -- as one /bin/sh -c line")
    add_command_options(add)
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help="a cron expression, e.g. '0 3 * * *' (minute hour day month weekday)")
    when.add_argument("--every", metavar="DURATION", help="a period, e.g. 90s, 15m, 1h, 1d (at least 1s)")
    add.add_argument("--timezone", metavar="TZ", help="the zone of --cron times (default UTC), e.g. Europe/Berlin")
    add.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a param of each job (repeatable)")
    add.add_argument("--params-json", metavar="JSON", help="params as one JSON object")
    add.add_argument("--priority", type=int_arg("--priority", -1_000_000, 1_000_000), default=0, help="priority of each job (default 0)")
    add.add_argument("--max-retries", type=int_arg("--max-retries", 0), default=None, help="automatic retries of each failed job")
    add_queue_option(add)
    add_notify_options(add)
    add_label_option(add)
    ls = sub.add_parser("ls", help="list schedules with their next run")
    ls.add_argument("--json", action="store_true", help="JSON array of schedules")
    add_global_options(ls)
    show = sub.add_parser("show", help="one schedule and its latest occurrences (fired, skipped, missed)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    add_global_options(show)
    for name, text in (("pause", "stop a schedule from firing"), ("resume", "fire a paused schedule again"),
                       ("rm", "delete a schedule and its history (its jobs stay)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        add_global_options(p)



_COMMAND_ONLY = ("cwd", "env", "timeout", "retries", "pause", "output_limit")


def _what(client: Client, a: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Return the job type and params a schedule submits: TYPE with -p params, or a `command` job.

    A known TYPE without arguments (and without --shell) is that type; anything else is a command.
    """
    is_type = a.type in client.type_names and not a.argv and not a.shell
    if is_type:
        used = [f"--{o.replace('_', '-')}" for o in _COMMAND_ONLY if getattr(a, o) is not None]
        if used:
            raise UsageError(f"{used[0]} applies to a command (schedule add NAME --every 1h -- CMD ARG...)")
        return a.type, params_of(a)
    if a.type in client.type_names and not a.shell:
        raise UsageError(f"{a.type!r} is a job type: give its params with -p k=v"
                         " (to run a program of that name, use --shell -- 'LINE')")
    if a.param or a.params_json:
        raise UsageError("-p/--params-json apply to a job TYPE, not to a command")
    run: str | list[str] = " ".join([a.type, *a.argv]) if a.shell else [a.type, *a.argv]
    if not (run.strip() if isinstance(run, str) else run[0].strip()):
        raise UsageError("empty command: give one after -- (schedule add NAME --every 1h -- CMD ARG...)")
    try:
        return "command", command_job_params(run, a)
    except ProgramNotFoundError as e:
        raise UsageError(f"{e.program!r} is neither a job type (see `jobtui types`) nor a program on PATH") from None


def _when(s: Schedule) -> str:
    return Recurrence(s.cron, s.tz, s.every_ms, s.anchor_ms).describe()


@command("schedule", "recurring jobs: schedule add|ls|show|pause|resume|rm", args=_args, order=25)
async def cmd_schedule(client: Client, a: argparse.Namespace) -> int:
    """Manage recurring schedules."""
    action = a.schedule_command
    if action == "add":
        if a.timezone and not a.cron:
            raise UsageError("--timezone applies to --cron only")
        if a.max_retries is not None and a.max_retries < 0:
            raise UsageError("--max-retries must be 0 or more")
        template = a.type[1:] if a.type.startswith("@") and not a.argv and not a.shell else None
        if template is not None:
            job_type, params = a.type, params_of(a)
        else:
            job_type, params = _what(client, a)
        s = await client.add_schedule(
            a.name, job_type, params, cron=a.cron, tz=a.timezone,
            every_ms=parse_duration_ms(a.every) if a.every else None, priority=a.priority,
            max_retries=a.max_retries, notify=parse_notify(a), notify_on=parse_notify_on(a), labels=parse_labels(a), queue=parse_queue(a),
        )
        print(f"schedule {s.name}: {_when(s)} → {s.job_type}; next run {iso(s.next_at_ms)}")
        return 0
    if action == "ls":
        schedules = await client.schedules()
        if a.json:
            print(json.dumps([s.to_dict() for s in schedules], indent=2))
            return 0
        if not schedules:
            print("no schedules (add one: jobtui schedule add NAME --every 1h TYPE)")
            return 0
        now = now_ms()
        rows = [["NAME", "WHEN", "TYPE", "NEXT RUN", "LAST RUN", "LAST JOB"]]
        for s in schedules:
            rows.append([s.name, _when(s), s.job_type, "paused" if s.paused else iso(s.next_at_ms) or "-",
                         ago(s.last_at_ms, now) if s.last_at_ms else "-", f"#{s.last_job_id}" if s.last_job_id else "-"])
        print(table(rows))
        return 0
    if action == "show":
        s, runs = await client.schedule(a.name)
        if a.json:
            print(json.dumps({**s.to_dict(), "history": [r.to_dict() for r in runs]}, indent=2))
            return 0
        print(f"schedule {s.name}  {_when(s)}  → {s.job_type}" + ("  (paused)" if s.paused else ""))
        print(f"  next run   {'paused' if s.paused else iso(s.next_at_ms)}")
        rows = [["OCCURRENCE", "OUTCOME", "JOB", "MISSED", "DETAIL"]]
        for r in runs:
            rows.append([iso(r.occurrence_ms) or "", r.outcome, f"#{r.job_id}" if r.job_id else "-",
                         str(r.missed) if r.missed else "", r.detail or ""])
        print("\n".join("    " + line for line in table(rows).splitlines()) if runs else "  no runs yet")
        return 0
    if action == "pause":
        await client.pause_schedule(a.name)
        print(f"schedule {a.name}: paused")
        return 0
    if action == "resume":
        s = await client.resume_schedule(a.name)
        print(f"schedule {a.name}: active; next run {iso(s.next_at_ms)}")
        return 0
    await client.remove_schedule(a.name)
    print(f"schedule {a.name}: removed")
    return 0
