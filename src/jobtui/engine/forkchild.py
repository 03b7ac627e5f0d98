"""The fork server's own process: starts commands for one runner (run as a script, stdlib only; see forkserver.py).

    python -I -S forkchild.py SOCKET_FD RUNNER_PID

It dies with its runner (PR_SET_PDEATHSIG, SIGKILL; and it exits should its runner be gone already), and each
command it starts dies with it: the chain of parent-death signals that a command started by the runner itself
had. Requests come over a stream socket: a 4-byte length and a JSON body {id, argv, env, cwd, cgroup}, with the
command's stdout and stderr descriptors attached (SCM_RIGHTS). Replies: {id, pid} or {id, errno, error}; and
{exit: pid, code} when a command ends (code: its exit status, or minus the signal that ended it). Its own
fork is cheap (a small process) and runs beside the runner, which never forks a large process per command.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

PR_SET_PDEATHSIG = 1
HEADER = struct.Struct("!I")
IDLE_S = 30.0
"""Seconds without a command and without a request after which it exits (the runner starts another on demand)."""
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
"""What a command starts with at its default (a runner in the background of a non-interactive shell ignores SIGINT
and SIGQUIT; Python ignores SIGPIPE and SIGXFSZ; this helper ignores SIGINT): the one list for both spawn paths."""


def reset_signals() -> None:
    """In a forked child before exec: every signal of DEFAULT_SIGNALS at its default, none blocked."""
    for sig in DEFAULT_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a libc ctypes cannot open
        return None


def _die_with(libc: ctypes.CDLL | None, parent: int) -> None:
    """Ask for SIGKILL when the parent dies; exit at once if it is gone already."""
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(137)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _receive(sock: socket.socket) -> tuple[dict[str, object], list[int]]:
    """Read one request and the descriptors sent with it."""
    data, anc, _flags, _addr = sock.recvmsg(HEADER.size, socket.CMSG_SPACE(8 * 4))
    if not data:
        raise EOFError
    fds: list[int] = []
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) - len(payload) % 4]))
    data += _recv_exact(sock, HEADER.size - len(data))
    (size,) = HEADER.unpack(data)
    return json.loads(_recv_exact(sock, size)), fds


def _send(sock: socket.socket, msg: dict[str, object]) -> None:
    body = json.dumps(msg).encode()
    sock.sendall(HEADER.pack(len(body)) + body)


def _child(req: dict[str, object], fds: list[int], errw: int, libc: ctypes.CDLL | None, me: int) -> None:
    """In the forked child: own session, cgroup, parent-death signal, descriptors, folder, then exec."""
    try:
        os.setsid()
        cgroup = req.get("cgroup")
        if isinstance(cgroup, str):
            try:
                with open(cgroup, "w") as f:
                    f.write("0")
            except OSError:
                pass  # the token still marks it
        _die_with(libc, me)
        reset_signals()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        os.closerange(3, errw)
        os.closerange(errw + 1, 65536)
        cwd = req.get("cwd")
        if isinstance(cwd, str):
            os.chdir(cwd)
        argv = [str(a) for a in req["argv"]]  # type: ignore[attr-defined]
        env = {str(k): str(v) for k, v in req["env"].items()}  # type: ignore[attr-defined]
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        os.write(errw, HEADER.pack(e.errno or errno.EINVAL) + str(e.strerror or e).encode(errors="replace")[:500])
    except BaseException as e:  # nothing may escape a forked child
        os.write(errw, HEADER.pack(errno.EINVAL) + repr(e).encode(errors="replace")[:500])
    os._exit(127)


class Server:
    """The helper's state: the socket, commands still on their way to exec, commands running."""

    def __init__(self, sock: socket.socket, libc: ctypes.CDLL | None) -> None:
        self.sock = sock
        self.libc = libc
        self.me = os.getpid()
        self.starting: dict[int, tuple[object, int]] = {}
        """By the read end of its error pipe: (request id, pid) of a forked command not yet known to have exec'd."""
        self.pids: dict[int, int] = {}
        """The error pipe of each starting command, by pid."""
        self.children: set[int] = set()

    def spawn(self, req: dict[str, object], fds: list[int]) -> None:
        """Fork a command; its reply is sent once its exec succeeded or failed (the next fork need not wait)."""
        errr, errw = os.pipe2(os.O_CLOEXEC)
        try:
            pid = os.fork()
            if pid == 0:
                _child(req, fds, errw, self.libc, self.me)
        except OSError as e:
            os.close(errr)
            _send(self.sock, {"id": req["id"], "errno": e.errno or errno.EAGAIN, "error": str(e.strerror or e)})
            return
        finally:
            os.close(errw)
            for fd in fds:
                os.close(fd)
        self.starting[errr] = (req["id"], pid)
        self.pids[pid] = errr

    def started(self, errr: int, *, reaped: bool = False) -> None:
        """Reply to a spawn whose error pipe closed: exec'd (its pid), or not (the error, the child reaped)."""
        rid, pid = self.starting.pop(errr)
        del self.pids[pid]
        data = b""
        try:
            while chunk := os.read(errr, 4096):
                data += chunk
        finally:
            os.close(errr)
        if data:
            if not reaped:
                os.waitpid(pid, 0)
            (code,) = HEADER.unpack(data[: HEADER.size])
            _send(self.sock, {"id": rid, "errno": code, "error": data[HEADER.size:].decode(errors="replace")})
        else:
            self.children.add(pid)
            _send(self.sock, {"id": rid, "pid": pid})

    def reap(self) -> None:
        """Tell the runner of every command that ended (after its start, should that not be told yet)."""
        while self.children or self.starting:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.pids:
                self.started(self.pids[pid], reaped=True)
            if pid in self.children:
                self.children.discard(pid)
                _send(self.sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def serve(self, wake_r: int) -> None:
        """Serve requests until the runner closes the socket."""
        fd = self.sock.fileno()
        while True:
            busy = self.children or self.starting
            ready, _, _ = select.select([fd, wake_r, *self.starting], [], [], None if busy else IDLE_S)
            if not ready and not busy:
                return  # idle: a request sent meanwhile is unread, so nothing of it was started
            for errr in [r for r in ready if r in self.starting]:
                self.started(errr)
            if wake_r in ready:
                _drain(wake_r)
                self.reap()
            if fd in ready:
                try:
                    req, fds = _receive(self.sock)
                except EOFError:
                    return
                self.spawn(req, fds)


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 512):
                return
        except BlockingIOError:
            return


def _runner_died(parent: int, wait_s: float = 0.5) -> bool:
    """Tell whether the runner died (rather than closed its end of the socket).

    A dying process's files are closed before its children are reparented and sent their parent-death
    signal, so the EOF of a SIGKILLed runner can come while getppid() still names it: wait a moment for the
    reparenting (or this process's own SIGKILL) before taking the EOF for a close.
    """
    end = time.monotonic() + wait_s
    while os.getppid() == parent:
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)
    return True


def main() -> None:
    """Serve the runner until it closes the socket (or dies)."""
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    libc = _libc()
    _die_with(libc, parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides; a terminal's Ctrl-C is its to take
    os.set_blocking(fd, True)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    server = Server(socket.socket(fileno=fd), libc)
    try:
        server.serve(wake_r)
    except (BrokenPipeError, ConnectionResetError):
        pass
    if _runner_died(parent):
        # The runner died: each command dies with this process (its parent-death signal), as it would with the
        # runner; what a command started is ended by the next runner, from its records.
        return
    # The runner closed its end: nothing of its commands may outlive that.
    for pid in [*server.children, *server.pids]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    main()
