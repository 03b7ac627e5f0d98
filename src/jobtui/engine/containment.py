"""What holds a command beyond its process group: its own cgroup, and a token in its environment.

A command that calls `setsid` (or daemonises: fork, setsid, fork) leaves its process group, so ending
the group misses it; the daemon would outlive cancel, timeout and its runner, and after recovery a
second copy would run beside it (issue 14, item 6). So each command also gets:

* a **cgroup v2** of its own, where this process may make one (a writable cgroup2 mount, as root or
  with a delegated subtree): the child joins it before it runs the command, and every process it
  starts stays in it, whatever it does with sessions, groups or its parent. Ending it ends them all
  (SIGTERM to each, grace, then `cgroup.kill`); pausing stops them all (SIGSTOP to each).
* a **token** in its environment (`JOBTUI_PROCESS_TOKEN`), inherited by whatever it starts: without
  a cgroup, the processes still carrying it are found in /proc and ended with the group.

The token and the cgroup's path are recorded with the process, so a later runner ends what a dead
runner's command left. Not contained: a descendant that clears its environment when there is no
cgroup (`env -i`, `sudo`), a process another user owns, and a process handed to another service
(`systemd-run`, `at`, `ssh host cmd`): those are not the command's processes any more.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("jobtui.process")

TOKEN_VAR = "JOBTUI_PROCESS_TOKEN"
"""The environment variable that marks every process a command starts."""
CGROUPS_VAR = "JOBTUI_CGROUPS"
"""Set to 0 to use no cgroup (the token alone), e.g. where another manager owns the hierarchy."""


def _cgroup2_mount() -> tuple[Path, str] | None:
    """Return (mount point, root inside the hierarchy) of the cgroup2 mount, or None."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, sep, right = line.partition(" - ")
        if sep and right.split(" ", 1)[0] == "cgroup2":
            fields = left.split()
            return Path(fields[4]), fields[3]
    return None


@functools.cache
def cgroup_base() -> Path | None:
    """Return the cgroup v2 folder under which this process can make one cgroup per command, or None."""
    if os.environ.get(CGROUPS_VAR, "1").strip() == "0":
        return None
    mount = _cgroup2_mount()
    if mount is None:
        return None
    point, root = mount
    try:
        own = next(ln[3:] for ln in Path("/proc/self/cgroup").read_text().splitlines() if ln.startswith("0::"))
    except (OSError, StopIteration):
        return None
    if root != "/" and (own == root or own.startswith(root.rstrip("/") + "/")):
        own = own[len(root.rstrip("/")):]
    base = point / own.strip("/")
    if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
        return None
    return base


SWEEP_AGE_S = 60.0
"""An empty command cgroup older than this is removed by the next runner (its own runner was killed)."""


@functools.cache
def _sweep(base: Path) -> None:
    """Remove the empty command cgroups that SIGKILLed runners left under `base` (once per process).

    Only empty ones (the kernel refuses to remove one with processes) and not new ones (a command may be
    about to join it).
    """
    now = time.time()
    for path in base.glob("jobtui-*"):
        try:
            if now - path.stat().st_mtime > SWEEP_AGE_S:
                path.rmdir()
        except OSError:
            continue


def _live(pid: int) -> bool:
    """Tell whether a pid is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def carrying(token: str) -> list[int]:
    """Return the live processes whose environment holds `TOKEN_VAR=token` (those this user may read)."""
    want = f"{TOKEN_VAR}={token}".encode()
    me = os.getpid()
    out: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if want in env and want in env.split(b"\0") and _live(int(name)):
            out.append(int(name))
    return out


@dataclass(frozen=True, slots=True)
class Containment:
    """One command's token and, where one could be made, its cgroup."""

    token: str
    cgroup: Path | None = None

    @classmethod
    def new(cls) -> Containment:
        """Make a fresh token, and a cgroup for it where this process can."""
        token = uuid.uuid4().hex
        base = cgroup_base()
        if base is None:
            return cls(token)
        _sweep(base)
        path = base / f"jobtui-{token}"
        try:
            path.mkdir()
        except OSError as e:
            log.debug("no cgroup for a command (%s): its environment token contains it", e)
            return cls(token)
        return cls(token, path)

    def env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        """Return the command's environment (`env`, or this process's) with the token in it."""
        out = dict(os.environ if env is None else env)
        out[TOKEN_VAR] = self.token
        return out

    def joiner(self) -> Callable[[], None]:
        """Return what the child runs before exec to enter the cgroup (nothing to do without one)."""
        procs = None if self.cgroup is None else str(self.cgroup / "cgroup.procs")

        def join() -> None:
            if procs is not None:
                try:
                    with open(procs, "w") as f:
                        f.write("0")
                except OSError:
                    pass  # the token still marks it

        return join

    def joined(self, pid: int) -> Containment:
        """Return this containment if the command `pid` is in its cgroup; else the token alone (cgroup removed).

        Joining fails where the hierarchy forbids it (a parent with controllers and processes): then its
        cgroup would look empty while the command runs, and only the token tells.
        """
        if self.cgroup is None:
            return self
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return self  # already reaped: nothing to tell
        if any(ln.startswith("0::") and ln.rstrip().endswith("/" + self.cgroup.name) for ln in lines):
            return self
        log.debug("command %d did not join %s: its environment token contains it", pid, self.cgroup)
        self.remove()
        return Containment(self.token)

    def members(self) -> list[int]:
        """Return the live processes of the command: those in its cgroup, else those carrying its token."""
        if self.cgroup is not None:
            try:
                text = (self.cgroup / "cgroup.procs").read_text()
            except OSError:
                return carrying(self.token)  # removed (or never joined): the token still tells
            return [pid for pid in map(int, text.split()) if _live(pid)]
        return carrying(self.token)

    def signal(self, sig: int) -> int:
        """Send `sig` to every process of the command; return how many got it."""
        sent = 0
        for pid in self.members():
            try:
                os.kill(pid, sig)
                sent += 1
            except (ProcessLookupError, PermissionError):
                pass
        return sent

    def freeze(self, on: bool) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) every process of the command.

        Signals, not the cgroup's freezer: a stopped process still takes SIGTERM once continued, and
        shows as stopped (T) wherever its process group's processes do.
        """
        self.signal(signal.SIGSTOP if on else signal.SIGCONT)

    def _kill_all(self) -> None:
        if self.cgroup is not None and (self.cgroup / "cgroup.kill").exists():
            try:
                (self.cgroup / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        self.signal(signal.SIGKILL)

    async def end(self, grace_s: float, *, remove: bool = True) -> bool:
        """End every process of the command: SIGTERM (thawed first), `grace_s`, then SIGKILL; True if any was found.

        The cgroup is removed after, unless not to `remove` (a lane's, for its next command).

        Raises:
            TimeoutError: some of them are still alive 10 s after SIGKILL.
        """
        # Without a cgroup, finding them reads every process's environment: off the event loop.
        if not (self.members() if self.cgroup is not None else await asyncio.to_thread(self.members)):
            if remove:
                self.remove()
            return False
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)  # a stopped process takes its SIGTERM once continued
        if not await _gone(self.members, grace_s):
            self._kill_all()
            if not await _gone(self.members, 10):
                raise TimeoutError(f"processes of a command (token {self.token[:8]}) do not end")
        if remove:
            self.remove()
        return True

    def remove(self) -> None:
        """Remove the command's cgroup once it is empty (nothing to do without one, or while it is not)."""
        if self.cgroup is not None:
            try:
                self.cgroup.rmdir()
            except FileNotFoundError:
                pass
            except OSError as e:
                log.debug("cgroup %s not removed yet: %s", self.cgroup, e)


async def _gone(members: Callable[[], list[int]], timeout_s: float) -> bool:
    """Poll until `members()` is empty or `timeout_s` passes; tell whether it emptied.

    Polled: the processes need not be this process's children, so no wait() tells when they end. Each look
    runs in a thread: without a cgroup it reads every process's environment.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while await asyncio.to_thread(members):
        if loop.time() >= end:
            return False
        await asyncio.sleep(0.05)
    return True


def recorded(token: str | None, cgroup: str | None) -> Containment | None:
    """Return the containment a process record names (None for a record without one)."""
    if not token:
        return None
    return Containment(token, Path(cgroup) if cgroup else None)


__all__ = ["CGROUPS_VAR", "TOKEN_VAR", "Containment", "carrying", "cgroup_base", "recorded"]
