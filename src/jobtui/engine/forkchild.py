"""The fork server's own process: starts commands for one runner (run as a script, stdlib only; see forkserver.py).

    python -I -S forkchild.py SOCKET_FD RUNNER_PID

It does the per-command work beside the runner (issue 18): makes the command's pipes (and its state file),
starts it, reaps it, reads its output, and tells the runner in compact frames that ride one socket.

Commands start with `subprocess` (vfork and exec: no Python runs in the child, which made a forked child cost
three times a bare loop's): each leads its own session, with every signal at its default, nothing open but its
three streams. Its cgroup is joined by starting it from inside: the helper moves itself into the cgroup, starts
the command, and moves back. No command outlives the runner: the helper gets SIGTERM when its runner dies
(PR_SET_PDEATHSIG; it exits at once should its runner be gone already) and on that, or on the runner's end of
the socket closing, SIGKILLs the process group of every command it started that is not yet reaped, then exits.
(Should the helper itself be killed, the runner SIGKILLs those groups; what left a group is found by its token
and cgroup, as ever.)

Frames both ways: a kind byte, a 32-bit id and a 32-bit length (`FRAME`), then the payload.
  runner -> helper  V env-id {JSON environment}     an environment that requests name by its id
                    D env-id                        that environment is no longer used
                    R request-id {JSON request}     argv, env (an id, or null: `set` is the whole
                                                    environment), set (variables over it), cwd, cgroup
                                                    (its cgroup.procs), state ([folder, text]: the
                                                    $JOBTUI_STATE_FILE to make, removed once it ended)
                    P pool-id {JSON lanes}          a pool of lanes: {"var": NAME, "lanes": [[TOKEN, cgroup.procs
                                                    or null], ...]}: a request naming the pool waits for a free
                                                    lane, runs with NAME=TOKEN in its cgroup, one at a time per lane
                    G pool-id "LANE"                the runner ended what the lane's last command left: free it
                    Q pool-id                       the pool is no longer used
                    C request-id                    withdraw a request still waiting for a lane (told F, ECANCELED)
  helper -> runner  S request-id "PID TICKS T [LANE JOINED]"  it exec'd (TICKS: its start time, field 22 of its
                                                    stat; T: the monotonic clock then; in a pool, its lane and
                                                    whether it joined its cgroup)
                    F request-id "ERRNO message"    it could not be started (nothing of it runs)
                    O / E request-id bytes          output on stdout / stderr; empty: that stream's end
                    X request-id "CODE FLAGS T"     it ended (T: the monotonic clock when it was reaped) (CODE: exit status, or minus the signal);
                                                    FLAGS: 1 stdout and 2 stderr ended already (no O/E end
                                                    follows), 4 something of its group or cgroup is left
Its own fork is cheap (a small process) and runs beside the runner, which never forks a large process per command.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
FRAME = struct.Struct("!cII")
ERR = struct.Struct("!I")
IDLE_S = 30.0
"""Seconds without a command and without a request after which it exits (the runner starts another on demand)."""
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
"""What a command starts with at its default (a runner in the background of a non-interactive shell ignores SIGINT
and SIGQUIT; Python ignores SIGPIPE and SIGXFSZ): the one list for both spawn paths. The helper handles (never
ignores) each of them but SIGPIPE and SIGXFSZ, which subprocess restores: exec resets a handled signal."""


def reset_signals() -> None:
    """In a forked child before exec: every signal of DEFAULT_SIGNALS at its default, none blocked."""
    for sig in DEFAULT_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


CHUNK = 65536
_IN = select.POLLIN | select.POLLHUP | select.POLLERR


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a libc ctypes cannot open
        return None


def _die_with(libc: ctypes.CDLL | None, parent: int) -> None:
    """Ask for SIGTERM when the parent dies; exit at once if it is gone already."""
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(143)


def frame(kind: bytes, ident: int, payload: bytes = b"") -> bytes:
    """Return one frame."""
    return FRAME.pack(kind, ident, len(payload)) + payload


class Job:
    """One command: its request id, pid, descriptors still open, and what is known of its end."""

    __slots__ = ("cgroup", "code", "lane", "pid", "pipes", "proc", "rid", "state")

    def __init__(self, rid: int, proc: subprocess.Popen[bytes], pipes: list[int], state: str | None,
                 cgroup: str | None, lane: tuple[Pool, int] | None) -> None:
        self.rid, self.proc, self.pid, self.pipes, self.state, self.cgroup = rid, proc, proc.pid, pipes, state, cgroup
        self.lane = lane
        self.code: int | None = None


class Pool:
    """Lanes (a token and a cgroup each) that run a queue of requests, one command at a time per lane."""

    def __init__(self, var: str, lanes: list[list[str | None]]) -> None:
        self.var = var
        self.lanes = lanes
        self.free = list(range(len(lanes)))[::-1]
        self.queue: collections.deque[tuple[int, dict[str, object]]] = collections.deque()
        self.programs: dict[tuple[str, str], str] = {}
        """By (program name, PATH): the file it was found as, once per stage (see `which`); "" where not cached."""


def which(name: str, path: str) -> str:
    """Return the file that exec would run for `name` along `path` (the first executable regular file), or "" where
    that cannot be told once for good: a name with a slash, a relative entry in PATH (it depends on the folder)."""
    if not name or "/" in name:
        return ""
    for folder in path.split(os.pathsep):
        if not folder.startswith("/"):
            return ""
        candidate = os.path.join(folder, name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o100000 and os.access(candidate, os.X_OK):
            return candidate
    return ""


def _read(path: str) -> bytes:
    """Return a small file's bytes (/proc, cgroupfs): plain descriptors, no file object (a few per command)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _stat_ticks(pid: int) -> int:
    try:
        return int(_read(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def _left(job: Job) -> bool:
    """Tell whether anything of an ended command is left: in its process group, or in its cgroup."""
    try:
        os.killpg(job.pid, 0)
        return True
    except ProcessLookupError:
        pass
    except OSError:
        return True
    if job.cgroup is not None:
        try:
            return bool(_read(job.cgroup).strip())
        except OSError:
            return True
    return False


class Server:
    """The helper's state: the socket, the environments, the commands starting, running and being read."""

    def __init__(self, sock: socket.socket, libc: ctypes.CDLL | None) -> None:
        self.sock = sock
        self.libc = libc
        self.me = os.getpid()
        self.poll = select.poll()
        self.envs: dict[int, dict[str, str]] = {}
        self.pools: dict[object, Pool] = {}
        self.joined = False
        """Whether the last command started joined its cgroup."""
        self.reaped_at = 0.0
        self.jobs: dict[int, Job] = {}
        """By pid: every command not yet both reaped and read to the end."""
        self.readers: dict[int, tuple[Job, bytes]] = {}
        """By descriptor: an output pipe still open, with its frame kind (O or E)."""
        self.out: list[bytes] = []
        self.inbuf = bytearray()
        self.serial = 0
        self.devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.home = _home()
        """Its own cgroup's cgroup.procs: where it moves back after starting a command inside the command's."""

    def send(self, kind: bytes, ident: int, payload: bytes = b"") -> None:
        self.out.append(frame(kind, ident, payload))

    def flush(self) -> None:
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.sock.sendall(data)

    def request(self, kind: bytes, ident: int, body: bytes) -> None:
        if kind == b"V":
            self.envs[ident] = json.loads(body)
        elif kind == b"D":
            self.envs.pop(ident, None)
        elif kind == b"R":
            req = json.loads(body)
            pool = self.pools.get(req.get("pool"))
            if pool is None:
                self.spawn(ident, req)
            else:
                pool.queue.append((ident, req))
                self.next(pool)
        elif kind == b"P":
            spec = json.loads(body)
            self.pools[ident] = Pool(spec["var"], spec["lanes"])
        elif kind == b"G":
            pool = self.pools.get(ident)
            if pool is not None:
                pool.free.append(int(body))
                self.next(pool)
        elif kind == b"Q":
            self.pools.pop(ident, None)
        elif kind == b"C":
            for pool in self.pools.values():
                for entry in pool.queue:
                    if entry[0] == ident:
                        pool.queue.remove(entry)
                        self.send(b"F", ident, f"{errno.ECANCELED} withdrawn".encode())
                        return

    def next(self, pool: Pool) -> None:
        """Start what waits in a pool while it has free lanes."""
        while pool.free and pool.queue:
            rid, req = pool.queue.popleft()
            self.spawn(rid, req, (pool, pool.free.pop()))

    def _environment(self, req: dict[str, object]) -> dict[str, str]:
        base = req.get("env")
        env = dict(self.envs.get(base, {})) if isinstance(base, int) else {}
        env.update(req.get("set") or {})  # type: ignore[call-overload]
        return env

    def _state_file(self, state: object) -> str | None:
        """Make the command's state file (its folder, its text); return its path."""
        if not isinstance(state, list):
            return None
        folder, text = state
        self.serial += 1
        path = os.path.join(str(folder), f".jobtui-state-{self.me}-{self.serial}-{os.urandom(4).hex()}.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, str(text).encode())
        finally:
            os.close(fd)
        return path

    def spawn(self, rid: int, req: dict[str, object], lane: tuple[Pool, int] | None = None) -> None:
        """Start a command (its exec done or failed when this returns) and tell the runner which."""
        fds: list[int] = []
        state: str | None = None
        cgroup = req.get("cgroup") if lane is None else lane[0].lanes[lane[1]][1]
        cgroup = cgroup if isinstance(cgroup, str) else None
        try:
            env = self._environment(req)
            if lane is not None:
                env[lane[0].var] = str(lane[0].lanes[lane[1]][0])
            state = self._state_file(req.get("state"))
            if state is not None:
                env["JOBTUI_STATE_FILE"] = state
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            fds += (out_r, out_w)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            fds += (err_r, err_w)
            cwd = req.get("cwd")
            argv = [str(a) for a in req["argv"]]  # type: ignore[attr-defined]
            proc = self._popen(argv, env, cwd if isinstance(cwd, str) else None, (out_w, err_w), cgroup,
                               None if lane is None else lane[0].programs)
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            for fd in fds:
                os.close(fd)
            if state is not None:
                _unlink(state)
            code = getattr(e, "errno", None) or errno.EINVAL
            self.send(b"F", rid, f"{code} {getattr(e, 'strerror', None) or e}".encode(errors="replace"))
            if lane is not None:
                lane[0].free.append(lane[1])  # nothing of it runs: the next may start (after this call returns)
            return
        os.close(out_w)
        os.close(err_w)
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        told = f"{proc.pid} {_stat_ticks(proc.pid)} {time.monotonic():.6f}"
        if lane is not None:
            joined = self.joined
            if cgroup is not None and not joined:
                lane[0].lanes[lane[1]][1] = None  # it could not join it: the token alone marks the lane from now on
                cgroup = None
            told += f" {lane[1]} {int(joined)}"
        job = Job(rid, proc, [out_r, err_r], state, cgroup, lane)
        self.jobs[job.pid] = job
        self.send(b"S", rid, told.encode())
        for fd, kind in ((out_r, b"O"), (err_r, b"E")):
            self.readers[fd] = (job, kind)
            self.poll.register(fd, _IN)

    def _popen(self, argv: list[str], env: dict[str, str], cwd: str | None, streams: tuple[int, int],
               cgroup: str | None, programs: dict[tuple[str, str], str] | None = None) -> subprocess.Popen[bytes]:
        """Start it from inside its cgroup (the helper moves there for the start only), in its own session.

        In a pool, its program is looked up along its PATH once per stage (`programs`), as a shell's hash table does,
        and exec'd by its full name: each exec along a long PATH was a failing execve per folder before it (issue 18).
        Should that file fail to start (gone, replaced), the search is made again as exec makes it.
        """
        joined = self.joined = cgroup is not None and bool(self.home) and _move(cgroup)
        try:
            if programs is not None:
                key = (argv[0], env.get("PATH", os.defpath))
                program = programs.get(key)
                if program is None:
                    program = programs[key] = which(*key)
                if program:
                    try:
                        return subprocess.Popen(argv, executable=program, stdin=self.devnull, stdout=streams[0],
                                                stderr=streams[1], cwd=cwd, env=env, start_new_session=True,
                                                close_fds=True)
                    except OSError:
                        del programs[key]  # looked up again by the next command
            return subprocess.Popen(argv, stdin=self.devnull, stdout=streams[0], stderr=streams[1], cwd=cwd, env=env,
                                    start_new_session=True, close_fds=True)
        finally:
            if joined and not _move(self.home):
                # Inside a command's cgroup the helper would be ended with the command's leftovers: never stay.
                self.shutdown()
                os._exit(70)

    def read(self, fd: int, *, tell_end: bool = True) -> bool:
        """Forward what a pipe holds; True once it reached its end (then it is closed, and its end told once the
        exit was)."""
        job, kind = self.readers[fd]
        while True:
            try:
                data = os.read(fd, CHUNK)
            except BlockingIOError:
                return False
            if not data:
                del self.readers[fd]
                self.poll.unregister(fd)
                os.close(fd)
                job.pipes.remove(fd)
                if tell_end and job.code is not None:
                    self.send(kind, job.rid)  # its end, after the exit was told
                    self._forget(job)
                return True
            self.send(kind, job.rid, data)
            if len(data) < CHUNK:
                return False

    def _forget(self, job: Job) -> None:
        if job.code is not None and not job.pipes:
            self.jobs.pop(job.pid, None)

    def ended(self, job: Job) -> None:
        """Tell of a reaped command: what its pipes hold first, then its exit (with the ends seen)."""
        for fd in list(job.pipes):
            self.read(fd, tell_end=False)
        still = {self.readers[fd][1] for fd in job.pipes}
        flags = (0 if b"O" in still else 1) | (0 if b"E" in still else 2)
        if job.state is not None:
            _unlink(job.state)
            job.state = None
        if _left(job) or (job.lane is not None and job.cgroup is None):
            # Something is left, or (a lane with its token alone) only the runner can tell: its lane waits for G.
            flags |= 4
        self.send(b"X", job.rid, f"{job.code} {flags} {self.reaped_at:.6f}".encode())
        self._forget(job)
        if job.lane is not None and not flags & 4:
            # Nothing of it is left in its group or cgroup: its lane takes the next command now (else once the
            # runner ended what is left: G).
            pool, index = job.lane
            job.lane = None
            pool.free.append(index)
            self.next(pool)

    def reap(self) -> None:
        """Collect every command that ended; tell the runner."""
        while self.jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.jobs.get(pid)
            if job is None:
                continue
            job.code = job.proc.returncode = os.waitstatus_to_exitcode(status)
            self.reaped_at = time.monotonic()
            self.ended(job)

    def shutdown(self) -> None:
        """SIGKILL the process group of every command not yet reaped (the runner is gone, or closed the socket)."""
        for job in self.jobs.values():
            if job.code is None:
                try:
                    os.killpg(job.pid, signal.SIGKILL)
                except OSError:
                    pass

    def receive(self) -> bool:
        """Read what the runner sent and act on every whole frame; False once it closed the socket."""
        try:
            data = self.sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return True
        if not data:
            return False
        buf = self.inbuf
        buf += data
        at = 0
        while len(buf) - at >= FRAME.size:
            kind, ident, size = FRAME.unpack_from(buf, at)
            if len(buf) - at - FRAME.size < size:
                break
            body = bytes(buf[at + FRAME.size:at + FRAME.size + size])
            at += FRAME.size + size
            self.request(kind, ident, body)
        del buf[:at]
        return True

    def serve(self, wake_r: int) -> bool:
        """Serve requests until the runner closes the socket (True) or is gone (False); idle, return True."""
        fd = self.sock.fileno()
        self.poll.register(fd, _IN)
        self.poll.register(wake_r, select.POLLIN)
        while True:
            busy = bool(self.jobs)
            events = self.poll.poll(None if busy else IDLE_S * 1000)
            if not events and not busy:
                return True  # idle: a request sent meanwhile is unread, so nothing of it was started
            ready = {e for e, _ in events}
            for r in [r for r in ready if r in self.readers]:
                if r in self.readers:
                    self.read(r)
            if wake_r in ready:
                _drain(wake_r)
                if _TERM:
                    return False
                self.reap()
            if fd in ready and not self.receive():
                return True
            self.flush()


_TERM: list[int] = []
"""Set once SIGTERM came (the runner died: the parent-death signal)."""


def _move(procs: str) -> bool:
    """Move this process into the cgroup whose cgroup.procs is `procs`; tell whether it did."""
    try:
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        os.write(fd, b"0")
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 512):
                return
        except BlockingIOError:
            return


def _home() -> str:
    """Return the cgroup.procs of this process's own cgroup (v2), or "" where there is none."""
    try:
        with open("/proc/self/cgroup") as f:
            own = next((ln[3:].strip() for ln in f if ln.startswith("0::")), None)
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, sep, right = line.partition(" - ")
                if sep and right.split(" ", 1)[0] == "cgroup2" and own is not None:
                    fields = left.split()
                    root, point = fields[3], fields[4]
                    if root != "/" and (own == root or own.startswith(root.rstrip("/") + "/")):
                        own = own[len(root.rstrip("/")):]
                    return os.path.join(point, own.strip("/"), "cgroup.procs")
    except OSError:
        pass
    return ""


def main() -> None:
    """Serve the runner until it closes the socket (or dies); then end what is left of the commands."""
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    libc = _libc()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: _TERM.append(1))
    # Handled, not ignored: a handler is reset by exec, so every command starts with these at their default (a
    # runner started in the background of a non-interactive shell ignores SIGINT and SIGQUIT).
    for sig in DEFAULT_SIGNALS:
        if sig not in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)  # the runner decides; a terminal's Ctrl-C is its to take
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    _die_with(libc, parent)
    os.set_blocking(fd, True)
    server = Server(socket.socket(fileno=fd), libc)
    try:
        closed = server.serve(wake_r)
    except (BrokenPipeError, ConnectionResetError):
        closed = False
    # The runner died (its parent-death signal, or its end of the socket closed as it died), or it closed the
    # socket: nothing of its commands may outlive that.
    server.shutdown()
    # At once: nothing is buffered, and freeing the interpreter would only hold the runner's wait for it.
    os._exit(0 if closed and not _TERM else 143)


if __name__ == "__main__":
    main()
