"""The SQLite file: finding and preparing it, telling passing errors from lasting ones, and wording them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import NoDatabaseError, StoreError

_TRANSIENT_CODES = frozenset({5, 6, 7, 10, 13, 15})
"""SQLITE_BUSY, LOCKED, NOMEM, IOERR, FULL, PROTOCOL: conditions that pass (another process lets go of
the lock, space is freed); a write that meets one is kept and tried again, never dropped."""


def is_transient_db_error(exc: BaseException) -> bool:
    """Tell whether a database error is a passing condition (busy, locked, disk full, I/O) worth waiting out."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _TRANSIENT_CODES
    text = str(exc).lower()
    return any(w in text for w in ("locked", "busy", "disk is full", "disk i/o", "out of memory"))


def prepare_path(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) so that both are private to the user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _absolute(path: str | Path) -> Path:
    """Return `path` with `~` expanded, made absolute (blocking: reads the home folder and the cwd)."""
    return Path(path).expanduser().absolute()


def _locate(path: str | Path, create: bool) -> tuple[Path, bool]:
    """Return the database's absolute path and whether it is fresh (none or empty); create a fresh one if asked.

    Raises:
        NoDatabaseError: nothing at `path` and not `create`.
        StoreError: the path cannot be read or created.
    """
    path = _absolute(path)
    try:
        fresh = not path.exists() or (path.is_file() and path.stat().st_size == 0)
    except OSError as e:
        raise StoreError(f"{path}: cannot open database ({e.strerror or e})") from e
    if fresh and not create:
        raise NoDatabaseError(f"no database at {path}")
    if fresh:
        try:
            prepare_path(path)
        except OSError as e:
            raise StoreError(f"{path}: cannot create database ({e.strerror or e})") from e
    return path, fresh


def _explain(exc: BaseException, path: Path | str) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a jobtui database or corrupt ({text})"
    if "locked" in text or "busy" in text:
        return f"{path}: database is locked by another process ({text})"
    if "readonly" in text or "unable to open" in text:
        return f"{path}: cannot open database ({text})"
    return f"{path}: {text}"



def describe_exc(exc: BaseException) -> str:
    """Return `Type: message` for an exception."""
    return f"{type(exc).__name__}: {exc}"
