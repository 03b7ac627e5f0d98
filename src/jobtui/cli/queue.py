"""Queues: `jobtui queue add|ls|show|pause|resume|edit|rm`, and `--queue` for the commands that queue jobs."""

from __future__ import annotations

import argparse
import json

from ..client import Client
from ..errors import UsageError
from ..model import ACTIVE, Job, Queue, QueueLimits, check_queue_name, iso
from ..model.queues import MAX_LIMIT, parse_rate
from .commands import command, table

QUEUE_HELP = "run it under this queue's limits (see `jobtui queue ls`; default: its type's queue, if any)"


def add_queue_option(sp: argparse.ArgumentParser) -> None:
    """Add `--queue NAME` to a command that queues jobs."""
    sp.add_argument("--queue", metavar="NAME", default=None, help=QUEUE_HELP)


def parse_queue(a: argparse.Namespace) -> str | None:
    """Return the queue `--queue` names, checked (UsageError for a bad name), or None."""
    name = getattr(a, "queue", None)
    return None if name is None else check_queue_name(name)


def queue_lines(job: Job) -> list[str]:
    """Return `show`'s line of a job's queue (and its slot while a runner holds it), if it has one."""
    if job.queue is None:
        return []
    slot = f"  slot {job.slot}" if job.slot is not None and (job.status in ACTIVE or job.held) else ""
    return [f"  queue      {job.queue}{slot}"]


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let --db, --db-file and --app follow the action too, as they may follow any command."""
    p.add_argument("--db", default=argparse.SUPPRESS, help="database file or postgresql:// URL")
    p.add_argument("--db-file", default=argparse.SUPPRESS, metavar="PATH",
                   help="read the database URL (or path) from the first line of PATH")
    p.add_argument("--app", action="append", default=argparse.SUPPRESS, metavar="MODULE",
                   help="import job types from MODULE (repeatable; also $JOBTUI_APP)")
    return p


def _limit_options(p: argparse.ArgumentParser, *, edit: bool) -> None:
    none = " (none: no limit)" if edit else ""
    p.add_argument("--concurrency", metavar="N", help=f"its jobs running at once, across every runner{none}")
    p.add_argument("--per-runner", metavar="N", help=f"its jobs running at once on one runner{none}")
    p.add_argument("--rate", metavar="N/DURATION", help=f"at most N starts in any DURATION, e.g. 5/10s{none}")
    slots = p.add_mutually_exclusive_group()
    slots.add_argument("--slots", action="store_true", default=None,
                       help="number its running jobs ($JOBTUI_SLOT, ctx.slot): 0..N-1 of --per-runner on each"
                            " runner, else of --concurrency, never two jobs on one")
    if edit:
        slots.add_argument("--no-slots", dest="slots", action="store_false", help="stop giving slots")


def _args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a queue with limits that hold across every runner",
                         description="create a queue: jobtui queue add NAME [--concurrency N] [--per-runner N]"
                                     " [--rate N/DURATION] [--slots]")
    add.add_argument("name", help="a name for the queue (letters, digits, '.', '_', '-')")
    _limit_options(add, edit=False)
    _common(add)
    edit = sub.add_parser("edit", help="change a queue's limits (only those given; 'none' removes one)")
    edit.add_argument("name")
    _limit_options(edit, edit=True)
    _common(edit)
    ls = sub.add_parser("ls", help="list the queues with their limits and counts")
    ls.add_argument("--json", action="store_true", help="JSON array of queues")
    _common(ls)
    show = sub.add_parser("show", help="one queue: limits, counts by status")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    _common(show)
    pause = sub.add_parser("pause", help="stop runners starting the queue's jobs (--now: pause its running jobs too)")
    pause.add_argument("name")
    pause.add_argument("--now", action="store_true", help="also pause its running jobs (resume releases them)")
    _common(pause)
    for name, text in (("resume", "let runners start the queue's jobs again (and resume those pause --now paused)"),
                       ("rm", "delete a queue no job names any more")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        _common(p)


def _limit(text: str | None, what: str, old: int | None) -> int | None:
    """Return a limit from its text ('none' removes it), else `old` when not given."""
    if text is None:
        return old
    if text.strip().lower() == "none":
        return None
    return _whole(text, what)


def _whole(text: str, what: str) -> int:
    t = text.strip()
    if not t.isascii() or not t.isdigit() or len(t) > 7 or not 1 <= int(t) <= MAX_LIMIT:
        raise UsageError(f"{what} must be a whole number from 1 to {MAX_LIMIT} (got {text!r})")
    return int(t)


def _limits(a: argparse.Namespace, old: QueueLimits) -> QueueLimits:
    """Return the limits the options give, on top of `old` (`queue edit` changes only what is given)."""
    rate: tuple[int | None, int | None] = (old.rate_count, old.rate_window_ms)
    if a.rate is not None:
        rate = (None, None) if a.rate.strip().lower() == "none" else parse_rate(a.rate)
    return QueueLimits(
        _limit(a.concurrency, "--concurrency", old.concurrency), _limit(a.per_runner, "--per-runner", old.per_runner),
        rate[0], rate[1], old.slots if a.slots is None else bool(a.slots),
    )


def _limits_text(q: Queue) -> str:
    lim = q.limits
    parts = [f"concurrency {lim.concurrency}" if lim.concurrency is not None else "",
             f"per runner {lim.per_runner}" if lim.per_runner is not None else "",
             f"rate {lim.rate_text()}" if lim.rate_text() else "", "slots" if lim.slots else ""]
    return ", ".join(p for p in parts if p) or "no limits"


def _print_one(q: Queue) -> None:
    print(f"queue {q.name}  {_limits_text(q)}" + ("  (paused)" if q.paused else ""))
    print(f"  running    {q.running}" + (f" of {q.limits.concurrency}" if q.limits.concurrency is not None else ""))
    print(f"  waiting    {q.waiting}")
    if q.limits.rate_count is not None:
        print(f"  started    {q.started_in_window} in the last {(q.limits.rate_text() or '').split('/')[1]}")
    if q.counts:
        print("  jobs       " + ", ".join(f"{n} {s}" for s, n in sorted(q.counts.items())))
    print(f"  created    {iso(q.created_at_ms)}")


@command("queue", "queues with limits across every runner: queue add|ls|show|pause|resume|edit|rm", args=_args,
         order=26)
async def cmd_queue(client: Client, a: argparse.Namespace) -> int:
    """Manage queues."""
    action = a.queue_command
    if action == "add":
        q = await client.add_queue(check_queue_name(a.name), _limits(a, QueueLimits()))
        print(f"queue {q.name}: {_limits_text(q)}")
        return 0
    if action == "edit":
        old = await client.queue(a.name)
        q = await client.edit_queue(a.name, _limits(a, old.limits))
        print(f"queue {q.name}: {_limits_text(q)}")
        return 0
    if action == "ls":
        queues = await client.queues()
        if a.json:
            print(json.dumps([q.to_dict() for q in queues], indent=2))
            return 0
        if not queues:
            print("no queues (add one: jobtui queue add NAME --concurrency 2)")
            return 0
        rows = [["NAME", "STATE", "RUNNING", "WAITING", "LIMITS"]]
        for q in queues:
            rows.append([q.name, "paused" if q.paused else "active", str(q.running), str(q.waiting), _limits_text(q)])
        print(table(rows))
        return 0
    if action == "show":
        q = await client.queue(a.name)
        if a.json:
            print(json.dumps(q.to_dict(), indent=2))
        else:
            _print_one(q)
        return 0
    if action == "pause":
        q, paused = await client.pause_queue(a.name, now=a.now)
        print(f"queue {q.name}: paused" + (f"; pausing {len(paused)} running job(s)" if a.now else ""))
        return 0
    if action == "resume":
        q, resumed = await client.resume_queue(a.name)
        print(f"queue {q.name}: active" + (f"; resumed {len(resumed)} job(s)" if resumed else ""))
        return 0
    await client.remove_queue(a.name)
    print(f"queue {a.name}: removed")
    return 0
