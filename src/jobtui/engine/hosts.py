"""Which host a runner is on, as far as pids go: its boot and its PID namespace, not its host name.

Containers on host networking (Kubernetes `hostNetwork`) share a host name but not a PID namespace: a
runner there cannot see another container's runner's pid, and that is not death (issue 14, item 5).
So a runner registers `host_identity()` (boot id and PID namespace inode), and another runner judges
it by its pid only when both are the same; otherwise only its lease tells.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


def boot_id() -> str:
    """Return this boot's id ('' where the system has none)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """Return the inode of this process's PID namespace ('' where there is none to read)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


@functools.cache
def host_identity() -> str:
    """Return `BOOT_ID/PIDNS`, or '' when either is unknown (then no pid of another runner is trusted)."""
    boot, ns = boot_id(), pid_namespace()
    return f"{boot}/{ns}" if boot and ns else ""


def same_pid_space(identity: str | None) -> bool:
    """Tell whether pids recorded under `identity` are this process's pids (same boot, same PID namespace)."""
    return bool(identity) and identity == host_identity()


__all__ = ["boot_id", "host_identity", "pid_namespace", "same_pid_space"]
