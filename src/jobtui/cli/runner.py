"""The headless runner: `jobtui run`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys

from ..client import MAX_LEASE_TTL_S, Client
from ..errors import UsageError
from ..kinds import RunnerEvent
from ..model import RUNNABLE, JobId, JobStatus, iso, now_ms
from ..targets import defaults_from_env
from ..wording import until
from .commands import command
from .fleet import add_runner_options, parse_runner_options
from .notify import add_notify_options, parse_notify
from .parse import MAX_CONCURRENCY, int_arg, parse_duration_ms, parse_seconds, seconds_arg

_SHOWN = frozenset({RunnerEvent.STARTED, RunnerEvent.COMPLETED, RunnerEvent.FAILED, RunnerEvent.PAUSE,
                    RunnerEvent.CANCEL, RunnerEvent.RECOVERED})
"""The runner events `jobtui run` prints (without --quiet)."""


def lease_ttl(text: str) -> float:
    """Parse --lease-ttl: a duration (15, 15s, 2m) more than 0 and at most a day, in seconds."""
    try:
        value = parse_seconds(text, what="--lease-ttl", lo=-math.inf, hi=math.inf)
    except UsageError:
        if text.strip().lower().lstrip("+-") not in ("nan", "inf"):
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > MAX_LEASE_TTL_S:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_LEASE_TTL_S:g} seconds, not {text!r}")
    return value


def log_to_stderr() -> None:
    """Send the library's log records (jobtui.*: waiting for a locked database, lost leases, ...) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s jobtui %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("jobtui")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _run_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--concurrency", type=int_arg("--concurrency", 1, MAX_CONCURRENCY), default=None,
                    help="jobs run at once (default 4)")
    sp.add_argument("--exit-when-idle", action="store_true",
                    help="exit once no job can run now (it says which are scheduled later)")
    sp.add_argument("--grace", type=seconds_arg("--grace", 0, 86_400), default=10.0,
                    help="how long a stopping job may take to reach a safe point: 10, 30s, 2m (default 10s)")
    sp.add_argument("--lease-ttl", type=lease_ttl, default=15.0,
                    metavar="DURATION",
                    help="how long without a heartbeat before a runner is taken for dead (default 15s, at most 1d)")
    sp.add_argument("--quiet", action="store_true", help="print no line per job event")
    sp.add_argument("--keep", default=None, metavar="DURATION",
                    help=f"delete finished jobs (with their items, logs and workspaces) this long after they"
                         f" ended, e.g. 30d; 'never' or 0 keeps them all (default {DEFAULT_KEEP})")
    add_notify_options(sp, runner=True)
    add_runner_options(sp)


DEFAULT_KEEP = "90d"
"""How long `jobtui run` keeps finished jobs unless --keep says otherwise (the database stays bounded)."""


def parse_keep(text: str) -> int:
    """Parse --keep: a duration (30d, 12h) in ms, or 0 for 'never' / '0' (retention off).

    Raises:
        UsageError: not a duration, or less than a second.
    """
    t = text.strip().lower()
    if t in ("never", "0", "off"):
        return 0
    try:
        ms = parse_duration_ms(t)
    except UsageError as e:
        raise UsageError(f"--keep: {e} (or 'never')") from None
    if ms < 1000:
        raise UsageError(f"--keep must be at least 1s (or 'never'), not {text!r}")
    return ms


@command("run", "run jobs headless until SIGINT/SIGTERM", args=_run_args, order=10)
async def cmd_run(client: Client, a: argparse.Namespace) -> int:
    """Run jobs until a signal (or, with --exit-when-idle, until none is left)."""
    if a.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if a.grace < 0:
        raise UsageError("--grace must be 0 or more")
    keep_ms = parse_keep(a.keep)
    name, tags = parse_runner_options(a)

    def event(kind: RunnerEvent, job_id: JobId | None) -> None:
        if not a.quiet and kind in _SHOWN:
            print(f"job {job_id}: {kind}", flush=True)

    log_to_stderr()
    defaults = parse_notify(a) if a.notify_url or a.notify_cmd else defaults_from_env()
    runner = client.headless_runner(concurrency=a.concurrency, grace_s=a.grace, lease_ttl_s=a.lease_ttl,
                                    on_event=event, notify_defaults=defaults, keep_ms=keep_ms, name=name, tags=tags)
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
    if not await runner.register():  # a name a live runner has is refused here, in one line
        return 0
    keeps = f"keeps finished jobs {a.keep.strip()}" if keep_ms else "keeps finished jobs forever"
    tagged = f"tags: {', '.join(runner.tags)}" if runner.tags else "no tags: runs only jobs that need none"
    print(f"jobtui run: runner {runner.name} ({runner.runner_id}) on {client.location} (concurrency {a.concurrency};"
          f" {tagged}; {keeps}; types: {', '.join(client.type_names)})", file=sys.stderr, flush=True)
    await runner.run(exit_when_idle=a.exit_when_idle, wait_for_scheduled=False)
    if a.exit_when_idle and not runner.stopping:
        await _say_what_is_scheduled(client)
    print("jobtui run: stopped", file=sys.stderr, flush=True)
    return 0


async def _say_what_is_scheduled(client: Client) -> None:
    """Print the jobs that wait for a later time (`--at`, an automatic retry), soonest first."""
    now = now_ms()
    later: list[tuple[int, str]] = []
    for j in await client.list_jobs(statuses=[s.value for s in RUNNABLE]):
        due = j.run_at_ms if j.status is JobStatus.QUEUED else j.next_retry_at_ms
        if due is not None and due > now:
            what = "retry" if j.status is JobStatus.WAITING_RETRY else "start"
            later.append((due, f"job {j.job_id} ({j.type}): {what} {until(due, now)}, at {iso(due)}"))
    if later:
        print(f"jobtui run: nothing to run now; {len(later)} job(s) scheduled later:", file=sys.stderr)
        for _, line in sorted(later)[:20]:
            print(f"  {line}", file=sys.stderr)
        if len(later) > 20:
            print(f"  ... and {len(later) - 20} more (`jobtui ls --status queued,waiting_retry`)", file=sys.stderr)
