"""Leases and runner identity: the clock a lease is measured on, its bounds, a runner's default name, its liveness."""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from functools import partial

from ..model import RunnerInfo
from .hosts import same_pid_space

MAX_LEASE_TTL_S = 86_400.0
"""The longest lease a runner may take: a day (a longer one would leave a dead runner's jobs stranded)."""


lease_clock: Callable[[], float] = (
    partial(time.clock_gettime, time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic
)
"""Return seconds on a clock that runs on while the process is frozen or the machine is suspended (read before
every item: no Python frame of its own)."""


def check_lease_ttl(ttl_s: float) -> None:
    """Raise ValueError unless a lease TTL is a finite number of seconds in (0, MAX_LEASE_TTL_S]."""
    if not isinstance(ttl_s, int | float) or not math.isfinite(ttl_s) or ttl_s <= 0 or ttl_s > MAX_LEASE_TTL_S:
        raise ValueError(f"the lease TTL must be more than 0 and at most {MAX_LEASE_TTL_S:g} seconds, not {ttl_s!r}")



def default_runner_name() -> str:
    """Return the name a runner gets unless given one: `<host>-<pid>` (unique among live runners)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def runner_process_gone(info: RunnerInfo) -> bool:
    """Tell whether a runner is certainly gone: same host name, boot and PID namespace, and no such process.

    A runner registered without a host identity (an older jobtui), or with another one, is judged by its
    lease only: a pid another PID namespace cannot see may well be alive (issue 14, item 5).
    """
    if info.hostname != socket.gethostname() or info.pid == os.getpid() or not same_pid_space(info.host_id):
        return False
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{info.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
