"""`jobtui edit ID ...`: change a job that no runner runs (issue 21 item 3; the rules are in jobtui/editing.py)."""

from __future__ import annotations

import argparse

from ..client import Client
from ..errors import UsageError
from ..labels import check_labels
from ..redaction import Secrets, redact
from .commands import command
from .deps import parse_after
from .parse import int_arg, params_of, parse_duration_ms, parse_id, parse_run_at

MAX_RETRIES = 1_000_000


def _edit_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                    help="set a param (repeatable); reaches the stages that have not completed")
    sp.add_argument("--params-json", metavar="JSON", help="params to set, as one JSON object")
    sp.add_argument("--priority", type=int_arg("--priority", -1_000_000, 1_000_000), default=None,
                    help="higher runs first")
    sp.add_argument("--at", metavar="TIME", help="not before TIME (a job waiting to start): +10m, 2026-12-01T09:00")
    sp.add_argument("--timeout", metavar="DURATION", help="limit each run of the job (e.g. 30m, 2h)")
    sp.add_argument("--max-retries", type=int_arg("--max-retries", 0, MAX_RETRIES), default=None,
                    help="automatic retries of the failed job")
    sp.add_argument("--needs", action="append", metavar="TAG", default=None,
                    help="the tags a runner must have (replaces the job's; repeatable or comma-separated)")
    sp.add_argument("--no-needs", action="store_true", help="any runner may run it")
    sp.add_argument("--after", nargs="+", action="extend", metavar="ID", default=None,
                    help="also wait for these jobs to complete (a job that has not started)")
    sp.add_argument("--label", action="append", metavar="KEY=VALUE", default=None, help="set a label (repeatable)")
    sp.add_argument("--unlabel", action="append", metavar="KEY", default=None, help="remove a label (repeatable)")
    sp.add_argument("--queue", metavar="NAME", help="run under this queue's limits (`jobtui queue ls`)")
    sp.add_argument("--no-queue", action="store_true", help="run under no queue")


@command("edit", "change a job that is queued, blocked, paused, failed or cancelled (not a running one)",
         args=_edit_args, order=37, creates=False)
async def cmd_edit(client: Client, a: argparse.Namespace) -> int:
    """Edit one job in one transaction; print what changed."""
    job_id = parse_id(a.id)
    timeout_ms = None
    if a.timeout is not None:
        timeout_ms = parse_duration_ms(a.timeout)
        if timeout_ms <= 0:
            raise UsageError("--timeout must be more than 0")
    if a.needs and a.no_needs:
        raise UsageError("give --needs or --no-needs, not both")
    needs = () if a.no_needs else a.needs
    labels = dict(check_labels(a.label, "--label"))
    result = await client.edit(
        job_id, params=params_of(a), priority=a.priority, run_at_ms=parse_run_at(a.at), timeout_ms=timeout_ms,
        max_retries=a.max_retries, needs=needs, after=parse_after(a.after), labels=labels, unlabel=a.unlabel or (),
        queue=a.queue, no_queue=a.no_queue,
    )
    moved = f" ({result.before.value} → {result.after.value})" if result.after is not result.before else ""
    secrets = Secrets.of((await client.job(job_id)).params)
    print(f"job {job_id}: edited{moved}: {redact('; '.join(result.changes), secrets)}")
    return 0
