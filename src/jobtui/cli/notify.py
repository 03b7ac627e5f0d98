"""Notifications: the shared `--notify-url` / `--notify-cmd` options and how `show` words deliveries."""

from __future__ import annotations

import argparse

from ..model import JobDetail, iso
from ..notify_on import check_notify_on
from ..redaction import redact_command
from ..targets import targets


def add_notify_options(parser: argparse.ArgumentParser, *, runner: bool = False) -> None:
    """Add `--notify-url URL` and `--notify-cmd CMD` (repeatable) to a command."""
    whose = "every job that names no target of its own" if runner else "this job"
    parser.add_argument("--notify-url", action="append", metavar="URL", default=None,
                        help=f"POST the job detail (JSON) here when {whose} completes, fails, is cancelled or"
                             " auto-pauses" + (" (default $JOBTUI_NOTIFY_URL)" if runner else ""))
    parser.add_argument("--notify-cmd", action="append", metavar="CMD", default=None,
                        help=f"run this shell command then (for {whose}); it gets JOBTUI_JOB_ID, JOBTUI_STATUS,"
                             " JOBTUI_TYPE, JOBTUI_EVENT in its environment and the JSON on stdin"
                             + (" (default $JOBTUI_NOTIFY_CMD)" if runner else ""))
    if not runner:
        parser.add_argument("--notify-on", action="append", metavar="EVENTS", default=None,
                            help="what to tell: started,progress,retrying,ended (comma-separated; default ended;"
                                 " progress at most every 10%% or once a minute)")


def parse_notify_on(a: argparse.Namespace) -> tuple[str, ...]:
    """Return the events `--notify-on` names, checked (UsageError: unknown, or no target to tell)."""
    return check_notify_on(getattr(a, "notify_on", None), bool(a.notify_url or a.notify_cmd))


def parse_notify(a: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """Return the checked (kind, target) pairs given on the command line.

    Raises:
        UsageError: a URL that is not http(s), or an empty command.
    """
    return targets(a.notify_url or (), a.notify_cmd or ())


def notify_lines(d: JobDetail) -> list[str]:
    """Return `show`'s lines about where the job's ends are told and how each delivery went."""
    lines = []
    for kind, target in d.notify:
        lines.append(f"  notify     {kind} {redact_command(target)}")
    if d.notifications:
        lines.append("  notifications")
        for n in d.notifications:
            when = f"sent {iso(n.sent_at_ms)}" if n.state == "sent" else (
                f"next try {iso(n.next_at_ms)}" if n.state == "pending" else "gave up")
            error = f"  last error: {redact_command(n.last_error)}" if n.last_error else ""
            lines.append(f"    #{n.notification_id} {n.event:<9} {n.kind} {redact_command(n.target)}  {n.state}"
                         f" ({n.attempts} attempt{'s' if n.attempts != 1 else ''}, {when}){error}")
    return lines
