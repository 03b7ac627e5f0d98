"""Drive `python -m jobtui tui --attach` in a real pseudo-terminal and time what reaches the terminal.

Used by bench_tui.py. The app runs in its own process with Textual's Linux driver, writing to the
slave side of a pty (160x50, TERM=xterm-256color); this side reads the master and timestamps every
chunk of bytes. "A frame shows X" means: the bytes written since a moment contain X (a marker text
the change put in a job's progress message, shown in the detail pane, which the app draws after the
list). CPU time and RSS are read from /proc/<pid>.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

COLUMNS, LINES = 160, 50


class PtyApp:
    """One app process under a pty, with the bytes it wrote and when."""

    def __init__(self, db: Path, src: str, *, attach: bool = True) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBTUI_", "TEXTUAL_"))}
        env.update(PYTHONPATH=src, TERM="xterm-256color", COLORTERM="truecolor", LINES=str(LINES),
                   COLUMNS=str(COLUMNS), JOBTUI_BELL="0")
        args = [sys.executable, "-m", "jobtui", "tui", "--db", str(db)] + (["--attach"] if attach else [])
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.fd = master
        self.buf = bytearray()
        """Every byte written so far."""
        self.first_at: dict[bytes, float] = {}

    def pump(self, timeout: float) -> float | None:
        """Read what is there (waiting up to `timeout` s for something); return when the last chunk came."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            chunk = os.read(self.fd, 1 << 20)
        except OSError:
            return None
        now = time.perf_counter()
        self.buf += chunk
        return now

    def wait_for(self, marker: bytes, since: int, timeout: float = 30.0) -> float:
        """Return the time at which `marker` appeared in the bytes written after offset `since`."""
        deadline = time.perf_counter() + timeout
        while True:
            # The marker may straddle two chunks: search from a little before the new bytes.
            if self.buf.find(marker, since) >= 0:
                return time.perf_counter()
            left = deadline - time.perf_counter()
            if left <= 0:
                tail = bytes(self.buf[-400:])
                raise TimeoutError(f"{marker!r} not shown within {timeout} s; last bytes {tail!r}")
            at = self.pump(min(left, 0.5))
            if at is not None and self.buf.find(marker, max(since, len(self.buf) - 1_000_000)) >= 0:
                return at

    def drain(self, quiet: float = 0.05, limit: float = 5.0) -> None:
        """Read until nothing more comes for `quiet` seconds."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline and self.pump(quiet) is not None:
            pass

    def send(self, keys: str) -> None:
        """Type keys into the terminal."""
        os.write(self.fd, keys.encode())

    def cpu_s(self) -> float:
        """Return the process's CPU time so far (user + system, all threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_mb(self) -> float:
        """Return the resident set size in MB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        """Quit the app (SIGTERM, then SIGKILL) and close the pty."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.perf_counter() + 5
            while self.proc.poll() is None and time.perf_counter() < deadline:
                self.pump(0.05)
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self.fd)
