"""A fork server: a small helper process that starts the runner's commands, so the runner never forks itself.

Starting a command from the runner with a preexec hook (to ask for the parent-death signal and join the
command's cgroup) forks the whole runner process (no vfork: Python code runs in the child) and blocks its
event loop until the child has run that code and exec'd: most of a short command's supervision cost
(issue 18). The helper (`forkchild.py`, stdlib only, started once per event loop) does that fork instead: it
is small, so its fork is cheap, and it runs beside the runner. Guarantees are kept by a chain of
parent-death signals: the helper gets SIGKILL when its runner dies, and each command when the helper does.
Each command leads its own session, joins its cgroup and gets its pipes before it runs, as before.

The helper also makes the command's pipes and state file, reads its output, reaps it and checks what it left,
so that the runner's share of a command is a few frames on one socket (read in large chunks, written once per
turn of the loop): a request with only what differs from its stage's environment (sent once), "started PID",
output only when there is some, "ended CODE" (issue 18).

Set `JOBTUI_FORKSERVER=0` to start commands from the runner itself (asyncio's subprocess and a preexec hook).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("jobtui.process")

ENV_VAR = "JOBTUI_FORKSERVER"
FRAME = struct.Struct("!cII")
HELPER = Path(__file__).with_name("forkchild.py")
ENVS_KEPT = 16
"""Environments the helper keeps for requests to name (the stages' shared ones, most recent first)."""
BUFFERED_MAX = 4 << 20
"""Bytes of output read from the helper and not yet taken by the commands' readers, past which the runner stops
reading the helper's socket (back-pressure: the helper, then the commands, wait)."""

_ATTR = "_jobtui_forkserver"
"""The attribute of an event loop that holds its fork server (collected with the loop)."""


def enabled() -> bool:
    """Tell whether commands start through the fork server (Linux, unless JOBTUI_FORKSERVER=0)."""
    return sys.platform.startswith("linux") and os.environ.get(ENV_VAR, "1").strip() != "0" and _helper_present()


@functools.cache
def _helper_present() -> bool:
    """Tell whether the helper's file is installed (looked at once: it was a stat per command spawned)."""
    return HELPER.exists()


class Stream:
    """A command's stdout or stderr as the helper forwards it: read like an `asyncio.StreamReader`."""

    __slots__ = ("_chunks", "_eof", "_owner", "_waiter")

    def __init__(self, owner: ForkServer) -> None:
        self._owner = owner
        self._chunks: collections.deque[bytes] = collections.deque()
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._owner.buffered += len(data)
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def at_eof(self) -> bool:
        """Tell whether it ended and everything was read."""
        return self._eof and not self._chunks

    async def read(self, n: int = -1) -> bytes:
        """Return what came next (at most `n` bytes), b"" at its end."""
        while not self._chunks:
            if self._eof:
                return b""
            self._waiter = self._owner.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        if 0 < n < len(chunk):
            self._chunks.appendleft(chunk[n:])
            chunk = chunk[:n]
        self._owner.taken(len(chunk))
        return chunk

    def discard(self) -> None:
        """Drop what is buffered (nobody reads it any more)."""
        self._owner.taken(sum(map(len, self._chunks)))
        self._chunks.clear()


class Child:
    """A command started by the fork server: what `asyncio.subprocess.Process` offers that supervision uses."""

    def __init__(self, owner: ForkServer, rid: int, pid: int, ticks: int) -> None:
        self._owner = owner
        self.pid = pid
        self.rid = rid
        self.start_ticks = ticks
        """Its start time (field 22 of /proc/PID/stat), read by the helper before it could be reaped."""
        self.stdout = Stream(owner)
        self.stderr = Stream(owner)
        self.left: bool | None = None
        """Once it ended: whether something of its process group or cgroup was still alive then."""
        self.lane: int | None = None
        """In a pool: the lane it runs in."""
        self.started_at: float | None = None
        """time.monotonic() (one clock for every process) when it exec'd, and when it was reaped."""
        self.ended_at: float | None = None
        self.joined = True
        """In a pool: whether it joined its lane's cgroup."""
        self._done: asyncio.Future[int] = owner.loop.create_future()

    @property
    def returncode(self) -> int | None:
        """Return its exit status once it ended (negative: the signal that ended it), else None."""
        return self._done.result() if self._done.done() and not self._done.cancelled() else None

    async def wait(self) -> int:
        """Wait for it to end; return its exit status."""
        return await asyncio.shield(self._done)

    def exited(self) -> asyncio.Future[int]:
        """Return a future of its exit status (cancelling it leaves the child's own alone): `wait` without a task."""
        return asyncio.shield(self._done)

    def release(self) -> None:
        """Stop taking its output (its supervision is over): what is buffered or comes later is dropped."""
        self.stdout.discard()
        self.stderr.discard()
        self._owner._running.pop(self.rid, None)

    def _ended(self, code: int, flags: int) -> None:
        if flags & 1:
            self.stdout.feed_eof()
        if flags & 2:
            self.stderr.feed_eof()
        self.left = bool(flags & 4)
        if not self._done.done():
            self._done.set_result(code)


def _close_quietly(sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
    """Close the socket (the helper then ends what is left and exits) and reap the helper."""
    sock.close()
    proc.wait()


class _Unsent(OSError):
    """The helper exited idle before it read a request: nothing of it was started (it may be sent again)."""


class LostError(OSError):
    """The helper died while a command was starting: it may have started (end its containment before a rerun)."""


class ForkServer:
    """The runner's side of one helper process, bound to one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Only what it needs (it runs the stdlib, isolated): no secret of the runner's environment sits in its own.
            env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "LC_CTYPE")}
            # Popen, not os.posix_spawn: glibc's posix_spawn leaves its internal signals (32, 33) ignored, and
            # every command would inherit that.
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(HELPER), str(theirs.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL, env=env, pass_fds=(theirs.fileno(),), start_new_session=True,
            )
            self.pid = self._proc.pid
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        mine.setblocking(False)
        self._sock = mine
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._flushing = False
        self._next = 0
        self._starting: dict[int, asyncio.Future[Child]] = {}
        self._running: dict[int, Child] = {}
        """By request id: started commands not yet ended or not yet read to the end."""
        self._envs: collections.OrderedDict[int, tuple[Mapping[str, str], int]] = collections.OrderedDict()
        """By id() of an environment the helper keeps: (that mapping, held so its id stays its own; its number)."""
        self.buffered = 0
        self._paused = False
        self.closed = False
        self._finalizer = weakref.finalize(self, _close_quietly, mine, self._proc)
        loop.add_reader(mine.fileno(), self._readable)

    # ------------------------------------------------------------------ reading
    def _readable(self) -> None:
        try:
            data = self._sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lost("the fork server exited")
            return
        buf = self._buf
        buf += data
        at, end = 0, len(buf)
        while end - at >= FRAME.size:
            kind, rid, size = FRAME.unpack_from(buf, at)
            if end - at - FRAME.size < size:
                break
            body = bytes(buf[at + FRAME.size:at + FRAME.size + size])
            at += FRAME.size + size
            self._frame(kind, rid, body)
        del buf[:at]
        if self.buffered > BUFFERED_MAX and not self._paused and not self.closed:
            self._paused = True
            self.loop.remove_reader(self._sock.fileno())

    def _frame(self, kind: bytes, rid: int, body: bytes) -> None:
        if kind in (b"O", b"E"):
            child = self._running.get(rid)
            if child is not None:
                stream = child.stdout if kind == b"O" else child.stderr
                if body:
                    stream.feed(body)
                else:
                    stream.feed_eof()
                    self._settled(child)
        elif kind == b"X":
            child = self._running.get(rid)
            if child is not None:
                code, flags, at = body.split()
                child.ended_at = float(at)
                child._ended(int(code), int(flags))
                self._settled(child)
        elif kind == b"S":
            pid, ticks, at, *lane = body.split()
            fut = self._starting.pop(rid, None)
            child = self._running[rid] = Child(self, rid, int(pid), int(ticks))
            child.started_at = float(at)
            if lane:
                child.lane, child.joined = int(lane[0]), lane[1] == b"1"
            if fut is not None and not fut.done():
                fut.set_result(child)
        elif kind == b"F":
            code, _, text = body.partition(b" ")
            fut = self._starting.pop(rid, None)
            if fut is not None and not fut.done():
                fut.set_exception(OSError(int(code), text.decode(errors="replace") or os.strerror(int(code))))

    def _settled(self, child: Child) -> None:
        if child.returncode is not None and child.stdout._eof and child.stderr._eof:
            self._running.pop(child.rid, None)

    def taken(self, n: int) -> None:
        """Count output bytes a reader took (or dropped); read the helper again once enough was."""
        self.buffered -= n
        if self._paused and self.buffered <= BUFFERED_MAX // 2 and not self.closed:
            self._paused = False
            self.loop.add_reader(self._sock.fileno(), self._readable)

    def _lost(self, why: str) -> None:
        """The helper is gone (idle, or killed: then its commands died with it, SIGKILL); fail what waits on it."""
        if self.closed:
            return
        self.closed = True
        running = [c for c in self._running.values() if c.returncode is None]
        for child in running:
            # It no longer has a helper to reap it or to end it with the runner: end its group now.
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        if running:
            log.warning("%s: its %d command(s) were killed", why, len(running))
        if not self._paused:
            self.loop.remove_reader(self._sock.fileno())
        try:
            idle = self._proc.wait(1.0) == 0  # it exits 0 only idle (or told to): then it read no request
        except subprocess.TimeoutExpired:
            idle = False
        for fut in self._starting.values():
            if not fut.done():
                fut.set_exception(_Unsent(why) if idle else LostError(why))
        for child in self._running.values():
            child.stdout.feed_eof()
            child.stderr.feed_eof()
            child._ended(-9, 3)
        self._finalizer()

    def close(self) -> None:
        """Stop the helper (it ends what is left of its commands)."""
        if not self.closed:
            self.closed = True
            if not self._paused:
                self.loop.remove_reader(self._sock.fileno())
            self._finalizer()

    # ------------------------------------------------------------------ writing
    def _send(self, kind: bytes, ident: int, body: bytes = b"") -> None:
        """Queue a frame; what a turn of the loop queued goes out in one write."""
        self._out.append(FRAME.pack(kind, ident, len(body)) + body)
        if not self._flushing:
            self._flushing = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self.closed:
            return
        data = b"".join(self._out)
        self._out.clear()
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._flushing = False
            self._lost("the fork server exited")
            return
        if sent < len(data):
            self._out.insert(0, data[sent:])
            self.loop.add_writer(self._sock.fileno(), self._writable)
        else:
            self._flushing = False

    def _writable(self) -> None:
        self.loop.remove_writer(self._sock.fileno())
        self._flush()

    def _env_id(self, base: Mapping[str, str]) -> int:
        """Return the number the helper knows an environment by (sending it first, once)."""
        key = id(base)
        kept = self._envs.get(key)
        if kept is not None and kept[0] is base:
            self._envs.move_to_end(key)
            return kept[1]
        self._next += 1
        number = self._next
        self._envs[key] = (base, number)
        self._send(b"V", number, json.dumps(dict(base)).encode())
        while len(self._envs) > ENVS_KEPT:
            _k, (_m, old) = self._envs.popitem(last=False)
            self._send(b"D", old)
        return number

    def pool(self, var: str, lanes: Sequence[tuple[str, Path | None]]) -> int:
        """Make a pool of lanes (a token, put in `var`, and a cgroup each) and return its number: a request naming it
        waits for a free lane and runs in it, one command at a time per lane (`release` frees a lane whose command
        left something behind; the helper frees the others itself)."""
        self._next += 1
        spec = {"var": var, "lanes": [[t, None if c is None else str(c / "cgroup.procs")] for t, c in lanes]}
        self._send(b"P", self._next, json.dumps(spec).encode())
        return self._next

    def release(self, pool: int, lane: int) -> None:
        """Free a lane of a pool (what its last command left was ended)."""
        if not self.closed:
            self._send(b"G", pool, str(lane).encode())

    def drop(self, pool: int) -> None:
        """Forget a pool (its stage's commands are done)."""
        if not self.closed:
            self._send(b"Q", pool)

    def withdraw(self, rid: int) -> None:
        """Withdraw a request that may still wait for a lane (it is told failed, ECANCELED; or started already)."""
        if not self.closed and rid in self._starting:
            self._send(b"C", rid)

    async def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None, cgroup: Path | None, *,
                    base: Mapping[str, str] | None = None, state: tuple[Path, str] | None = None,
                    pool: int | None = None, ticket: list[tuple[ForkServer, int]] | None = None) -> Child:
        """Start a command in its own session with stdout and stderr forwarded to this loop.

        `env` is its whole environment, or with `base` what differs from `base` (a mapping that is not changed
        after: the helper keeps a copy). `state`: the folder and text of the $JOBTUI_STATE_FILE it gets (made and,
        once it ended, removed by the helper). `pool`: it waits for a lane of that pool (then `cgroup` is unused);
        `ticket` gets (this server, the request's number), to `withdraw` it.

        Raises:
            OSError: it could not be started (as exec reported it: not found, not executable, bad folder).
        """
        if self.closed:
            raise OSError("the fork server is closed")
        req: dict[str, object] = {"argv": list(argv), "env": None if base is None else self._env_id(base),
                                  "set": dict(env), "cwd": cwd,
                                  "cgroup": None if cgroup is None else str(cgroup / "cgroup.procs")}
        if state is not None:
            req["state"] = [str(state[0]), state[1]]
        if pool is not None:
            req["pool"] = pool
        self._next += 1
        rid = self._next
        if ticket is not None:
            ticket.append((self, rid))
        fut: asyncio.Future[Child] = self.loop.create_future()
        self._starting[rid] = fut
        self._send(b"R", rid, json.dumps(req).encode())
        return await asyncio.shield(fut)


HELPERS = max(1, min(2, os.cpu_count() or 1))
"""Fork servers per event loop: each blocks while its command execs (vfork), so two start commands side by side."""


def _busy(fs: ForkServer) -> int:
    return len(fs._starting) + len(fs._running)


def server() -> ForkServer:
    """Return the least busy of this event loop's fork servers; another is started (on first use, once one exited,
    or while every one has commands) up to HELPERS."""
    loop = asyncio.get_running_loop()
    pool: list[ForkServer] | None = getattr(loop, _ATTR, None)
    if pool is None:
        pool = []
        setattr(loop, _ATTR, pool)
    pool[:] = [fs for fs in pool if not fs.closed]
    best = min(pool, key=_busy, default=None)
    if best is None or (_busy(best) and len(pool) < HELPERS):
        best = ForkServer(loop)
        pool.append(best)
    return best


def servers() -> list[ForkServer]:
    """Return every fork server of this event loop, starting them up to HELPERS."""
    loop = asyncio.get_running_loop()
    server()  # makes the loop's list
    pool: list[ForkServer] = getattr(loop, _ATTR)
    while len(pool) < HELPERS:
        pool.append(ForkServer(loop))
    return list(pool)


async def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str | None, cgroup: Path | None, *,
                base: Mapping[str, str] | None = None, state: tuple[Path, str] | None = None) -> Child:
    """Start a command through this loop's fork server (see `ForkServer.spawn`); once more through a new one
    should the helper have exited (idle) before it read the request."""
    try:
        return await server().spawn(argv, env, cwd, cgroup, base=base, state=state)
    except _Unsent:
        return await server().spawn(argv, env, cwd, cgroup, base=base, state=state)


__all__ = ["ENV_VAR", "Child", "ForkServer", "LostError", "Stream", "enabled", "server", "servers", "spawn"]
