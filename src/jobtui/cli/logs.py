"""`jobtui logs`: a job's log (or every job's), followed, as text or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..client import Client
from ..errors import UsageError
from ..model import TERMINAL
from ..redaction import Secrets
from .command_jobs import log_text
from .commands import command
from .parse import int_arg, parse_id


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
        # The status before the lines: a job's last lines commit no later than its end, so once it is seen
        # ended, the read that follows has them all (read after, lines committed in between were lost).
        ended = (await client.job(job_id)).status in TERMINAL
        new = await client.logs(job_id, after_id=last, limit=5000)
        for line in new:
            print(log_text(line, secrets, as_json=a.json))
            last = line.log_id
        sys.stdout.flush()
        if ended and not new:
            break
    return 0
