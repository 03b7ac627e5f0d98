"""A fork server: a small helper process that starts the runner's commands, so the runner never forks itself.

Starting a command from the runner with a preexec hook (to ask for the parent-death signal and join the
command's cgroup) forks the whole runner process (no vfork: Python code runs in the child) and blocks its
event loop until the child has run that code and exec'd: most of a short command's supervision cost
(issue 18). The helper (`forkchild.py`, stdlib only, started once per event loop) does that fork instead: it
is small, so its fork is cheap, and it runs beside the runner. Guarantees are kept by a chain of
parent-death signals: the helper gets SIGKILL when its runner dies, and each command when the helper does.
Each command leads its own session, joins its cgroup and gets its pipes before it runs, as before.

Set `JOBTUI_FORKSERVER=0` to start commands from the runner itself (asyncio's subprocess and a preexec hook).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("jobtui.process")

ENV_VAR = "JOBTUI_FORKSERVER"
HEADER = struct.Struct("!I")
HELPER = Path(__file__).with_name("forkchild.py")

_ATTR = "_jobtui_forkserver"
"""The attribute of an event loop that holds its fork server (collected with the loop)."""


def enabled() -> bool:
    """Tell whether commands start through the fork server (Linux, unless JOBTUI_FORKSERVER=0)."""
    return sys.platform.startswith("linux") and os.environ.get(ENV_VAR, "1").strip() != "0" and HELPER.exists()


class Child:
    """A command started by the fork server: what `asyncio.subprocess.Process` offers that supervision uses."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, stderr: asyncio.StreamReader,
                 done: asyncio.Future[int]) -> None:
        self.pid = pid
        self.stdout: asyncio.StreamReader | None = stdout
        self.stderr: asyncio.StreamReader | None = stderr
        self._done = done

    @property
    def returncode(self) -> int | None:
        """Return its exit status once it ended (negative: the signal that ended it), else None."""
        return self._done.result() if self._done.done() and not self._done.cancelled() else None

    async def wait(self) -> int:
        """Wait for it to end; return its exit status."""
        return await asyncio.shield(self._done)


def _close_quietly(sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
    """Close the socket (the helper then ends what is left and exits) and reap the helper."""
    sock.close()
    proc.wait()


class _Unsent(OSError):
    """The helper exited before it read a request: nothing of it was started (it may be sent again)."""


class ForkServer:
    """The runner's side of one helper process, bound to one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
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
        self._buf = b""
        self._next = 0
        self._replies: dict[int, asyncio.Future[dict[str, object]]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self.closed = False
        self._sending = asyncio.Lock()
        self._finalizer = weakref.finalize(self, _close_quietly, mine, self._proc)
        loop.add_reader(mine.fileno(), self._readable)

    def _exit_future(self, pid: int) -> asyncio.Future[int]:
        """Take the future of a command's end: the one its early end left, or a new one its end will resolve."""
        fut = self._exits.pop(pid, None)
        if fut is None:
            fut = self._exits[pid] = self._loop.create_future()
        return fut

    def _readable(self) -> None:
        try:
            data = self._sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lost("the fork server exited")
            return
        self._buf += data
        while len(self._buf) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buf)
            if len(self._buf) < HEADER.size + size:
                break
            msg = json.loads(self._buf[HEADER.size:HEADER.size + size])
            self._buf = self._buf[HEADER.size + size:]
            if "exit" in msg:
                fut = self._exit_future(int(msg["exit"]))  # taken by its Child, or left for spawn to take
                if not fut.done():
                    fut.set_result(int(msg["code"]))
            else:
                reply = self._replies.pop(int(msg["id"]), None)
                if reply is not None and not reply.done():
                    reply.set_result(msg)

    def _lost(self, why: str) -> None:
        """The helper is gone (idle, or killed: then its commands died with it, SIGKILL); fail what waits on it."""
        if self.closed:
            return
        self.closed = True
        running = [f for f in self._exits.values() if not f.done()]
        if running:
            log.warning("%s: its %d command(s) were killed with it", why, len(running))
        self._loop.remove_reader(self._sock.fileno())
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(_Unsent(why))
        for fut in running:
            fut.set_result(-9)
        self._finalizer()

    def close(self) -> None:
        """Stop the helper (it ends what is left of its commands)."""
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self._sock.fileno())
            self._finalizer()

    async def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None, cgroup: Path | None) -> Child:
        """Start a command in its own session with stdout and stderr piped to this loop.

        Raises:
            OSError: it could not be started (as exec reported it: not found, not executable, bad folder).
        """
        if self.closed:
            raise OSError("the fork server is closed")
        self._next += 1
        rid = self._next
        body = json.dumps({"id": rid, "argv": list(argv), "env": dict(env), "cwd": cwd,
                           "cgroup": None if cgroup is None else str(cgroup / "cgroup.procs")}).encode()
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        reply = self._replies[rid] = self._loop.create_future()
        try:
            await self._send(HEADER.pack(len(body)) + body, (out_w, err_w))
        except BaseException:
            self._replies.pop(rid, None)
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        try:
            msg = await asyncio.shield(reply)
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        if "pid" not in msg:
            os.close(out_r)
            os.close(err_r)
            code = int(msg.get("errno") or 0)
            raise OSError(code, str(msg.get("error") or os.strerror(code)))
        pid = int(msg["pid"])
        return Child(pid, await self._reader(out_r), await self._reader(err_r), self._exit_future(pid))

    async def _send(self, packet: bytes, fds: tuple[int, int]) -> None:
        """Send one request whole (requests never interleave), the descriptors with its first byte."""
        async with self._sending:
            while True:
                try:
                    sent = self._sock.sendmsg([packet], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("2i", *fds))])
                    break
                except BlockingIOError:
                    writable = self._loop.create_future()
                    self._loop.add_writer(self._sock.fileno(), writable.set_result, None)
                    try:
                        await writable
                    finally:
                        self._loop.remove_writer(self._sock.fileno())
            if sent < len(packet):
                await self._loop.sock_sendall(self._sock, packet[sent:])

    async def _reader(self, fd: int) -> asyncio.StreamReader:
        reader = asyncio.StreamReader(limit=2 ** 16, loop=self._loop)
        await self._loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=self._loop),
                                           os.fdopen(fd, "rb", 0))
        return reader



def server() -> ForkServer:
    """Return this event loop's fork server, started on first use (again once it exited)."""
    loop = asyncio.get_running_loop()
    fs: ForkServer | None = getattr(loop, _ATTR, None)
    if fs is None or fs.closed:
        fs = ForkServer(loop)
        setattr(loop, _ATTR, fs)
    return fs


async def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: str | None, cgroup: Path | None) -> Child:
    """Start a command through this loop's fork server (see `ForkServer.spawn`); once more through a new one
    should the helper have exited (idle) before it read the request."""
    try:
        return await server().spawn(argv, env, cwd, cgroup)
    except _Unsent:
        return await server().spawn(argv, env, cwd, cgroup)


__all__ = ["ENV_VAR", "Child", "ForkServer", "enabled", "server", "spawn"]
