"""Dependencies: the shared `--after` option and `jobtui depend`.

`add_after_option` is shared by every command that queues jobs (`submit`, and `add` for command
jobs): call it on the subparser, then pass `parse_after(a.after)` as the submission's `after`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..model import JobId, JobRef, waiting_reason
from .commands import command
from .parse import parse_id

if TYPE_CHECKING:
    from ..client import Client


def add_after_option(parser: argparse.ArgumentParser) -> None:
    """Add `--after ID [ID ...]` to a command that queues jobs."""
    parser.add_argument(
        "--after", nargs="+", action="extend", metavar="ID", default=None,
        help="start only once every job ID has completed (it waits as `blocked` until then)",
    )


def parse_after(values: Sequence[str] | None) -> tuple[JobId, ...]:
    """Parse the ids given to `--after` (also comma-separated).

    Raises:
        UsageError: an id is not a positive whole number.
    """
    out: list[JobId] = []
    for value in values or ():
        for part in value.split(","):
            try:
                job_id = parse_id(part)
            except UsageError:
                raise UsageError(f"--after: bad job id {part.strip()!r} (job ids are positive whole numbers)") from None
            if job_id not in out:
                out.append(job_id)
    return tuple(out)


def refs_text(refs: Sequence[JobRef]) -> str:
    """Word job references, e.g. '#12 demo completed, #13 fetch failed'."""
    return ", ".join(f"#{r.job_id} {r.type} {r.status.value}" for r in refs)


def _depend_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--after", nargs="+", action="extend", metavar="ID", required=True,
                    help="jobs that must complete first")


@command("depend", "make a job that has not started also wait for other jobs", args=_depend_args, order=24,
         creates=False)
async def cmd_depend(client: Client, a: argparse.Namespace) -> int:
    """Add dependencies to a job that has not started; print its status."""
    job_id = parse_id(a.id)
    after = parse_after(a.after)
    status = await client.depend(job_id, after)
    waiting = (await client.waiting_on([job_id])).get(job_id, ())
    print(f"job {job_id}: {status.value}" + (f" ({waiting_reason(waiting)})" if waiting else ""))
    return 0
