"""FileWake: be told at once when a SQLite database is written, instead of asking it 40 times a second.

On Linux, an inotify watch on the database's folder reports each write of the database file or its WAL
by any process (a commit writes its frames to the WAL). The TUI's watcher then reads the change token
at once: a change reaches the screen without waiting for the next check, and an idle app wakes only when
something is written (a runner's heartbeat), not on a timer. Where inotify is not there (another
system, a PostgreSQL database, a folder that cannot be watched) `FileWake.open` returns None and the
watcher keeps its timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import struct
import sys
from pathlib import Path

log = logging.getLogger("jobtui.tui.wake")

_IN_MODIFY = 0x00000002
_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_HEADER = struct.Struct("iIII")
"""struct inotify_event: wd, mask, cookie, len (then `len` bytes of name)."""


class FileWake:
    """An inotify watch on a database's folder: `wait` returns early when the database or its WAL is written."""

    def __init__(self, fd: int, names: frozenset[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._fd = fd
        self._names = names
        self._loop = loop
        self._event = asyncio.Event()
        self.wakes = 0
        """How many times a write woke it (for the tests)."""
        loop.add_reader(fd, self._readable)

    @classmethod
    def open(cls, db: str | Path) -> FileWake | None:
        """Watch the SQLite file `db` (None where that cannot be done: then poll on a timer)."""
        if not sys.platform.startswith("linux"):
            return None
        path = Path(db)
        if not path.is_file():
            return None  # not a SQLite file (a PostgreSQL URL), or not there yet
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "inotify_init1")
            mask = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
            if libc.inotify_add_watch(fd, os.fsencode(path.resolve().parent), mask) < 0:
                err = ctypes.get_errno()
                os.close(fd)
                raise OSError(err, "inotify_add_watch")
            name = os.fsencode(path.name)
            return cls(fd, frozenset({name, name + b"-wal", name + b"-journal"}), asyncio.get_running_loop())
        except (OSError, AttributeError, RuntimeError) as e:
            log.debug("no inotify watch on %s (%s): the TUI polls on a timer", path, e)
            return None

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        at = 0
        while at + _HEADER.size <= len(data):
            _wd, _mask, _cookie, size = _HEADER.unpack_from(data, at)
            name = data[at + _HEADER.size : at + _HEADER.size + size].rstrip(b"\0")
            at += _HEADER.size + size
            if name in self._names:
                self.wakes += 1
                self._event.set()
                return

    async def wait(self, seconds: float) -> bool:
        """Wait until the database is written, or `seconds`; return whether it was written."""
        if not self._event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        woke = self._event.is_set()
        self._event.clear()
        return woke

    def close(self) -> None:
        """Stop watching."""
        if self._fd >= 0:
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
