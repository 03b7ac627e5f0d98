"""`jobtui --readonly` opens the database read-only (`mode=ro`), as the reading commands do: watching never writes
nor migrates it. The real TUI process under a pseudo-terminal, on a real file."""

from __future__ import annotations

import fcntl
import hashlib
import os
import select
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from jobtui.store.schema import MIGRATIONS
from tests.conftest import cli_env, cli_submit, jobtui
from tests.test_cli_readonly import one_schema_behind

pytestmark = pytest.mark.slow


class Tty:
    """`python -m jobtui ARGS` on the slave side of a pty (100x30); this side reads what it draws."""

    def __init__(self, db: Path, *args: str, prefix: tuple[str, ...] = ()) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**cli_env(db), "TERM": "xterm-256color", "JOBTUI_BELL": "0", "LINES": "30", "COLUMNS": "100"}
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "jobtui", *args], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.out = bytearray()

    def wait_for(self, text: bytes, timeout: float = 60) -> None:
        """Read until `text` was drawn (or the process ended)."""
        end = time.monotonic() + timeout
        while text not in self.out:
            left = end - time.monotonic()
            assert left > 0 and self.proc.poll() is None, f"{text!r} not drawn; last bytes {bytes(self.out[-600:])!r}"
            if select.select([self.fd], [], [], min(left, 0.5))[0]:
                try:
                    self.out += os.read(self.fd, 1 << 16)
                except OSError:  # the slave side closed: the process ended
                    pass

    def quit(self) -> int:
        """Press q and return the exit status."""
        os.write(self.fd, b"q")
        end = time.monotonic() + 30
        while self.proc.poll() is None and time.monotonic() < end:
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.fd, 1 << 16)
                except OSError:
                    pass
        return self.proc.wait(5)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.fd)


def _state(db: Path) -> tuple[str, int]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns


NO_DAC = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search")
"""Run as root without the capabilities that ignore file modes: a 0444 file is read-only to it."""


def test_readonly_tui_watches_a_database_it_cannot_write(tmp_path: Path) -> None:
    """The database, its -wal and -shm are 0444 in a 0555 folder, and the TUI runs without the power to ignore that:
    `jobtui --readonly` shows the jobs and quits cleanly (a read-write open is refused there), and the bytes stay."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop the capabilities that ignore file modes")
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "w.db"
    cli_submit(db, "demo", "-p", "delay=0")
    assert jobtui("cancel", "1", db=db).returncode == 0
    # A runner's connection would keep -wal and -shm there; a reader needs them to exist (it cannot create them).
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM jobs").fetchall()
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["w.db", "w.db-shm", "w.db-wal"]
    before = {f.name: _state(f) for f in files}
    for f in files:
        f.chmod(0o444)
    folder.chmod(0o555)
    tty = Tty(db, "--readonly", prefix=NO_DAC)
    try:
        tty.wait_for(b"cancelled")
        os.write(tty.fd, b"p")
        tty.wait_for(b"are off")  # a steering key only says why it does nothing
        assert tty.quit() == 0, bytes(tty.out[-600:])
        after = {f.name: _state(f) for f in files}
    finally:
        tty.close()
        folder.chmod(0o755)
        holder.close()  # the last connection: SQLite removes -wal and -shm
    assert after == before


def test_readonly_tui_refuses_an_older_schema_in_one_line_and_leaves_it(tmp_path: Path) -> None:
    """A database one schema behind: `jobtui --readonly` says what a reading command says, and migrates nothing."""
    db = tmp_path / "old.db"
    one_schema_behind(db)
    before = _state(db)
    for args in (["--readonly"], ["tui", "--readonly"], ["--attach", "--readonly"]):
        r = jobtui(*args, db=db)
        assert r.returncode == 1 and "which a reading command does not do" in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert _state(db) == before
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) - 1
    conn.close()
