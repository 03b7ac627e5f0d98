"""Private folders and files: real, this user's own, 0700 / 0600; never reached through a symlink.

A database may sit in a folder others can write in. Another user may then plant what jobtui will
use before it does: a `*.workspaces` root of their own, symlinks named after the next job ids, a
symlink where the TUI's background-runner log goes (issue 14, item 10). So a folder jobtui keeps
private is checked with lstat (a symlink is refused, not followed), must be owned by this user, and
is made 0700; a workspace in its root is made and opened relative to the root's descriptor with
O_NOFOLLOW (openat-style); a log file is opened with O_NOFOLLOW and created 0600.

Not covered: a folder on the way to the root that another user controls (the database's own folder
is the user's choice), and a folder where others may rename the user's entries (writable without the
sticky bit): there a root checked now may be swapped later.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class UnsafePathError(OSError):
    """A folder or file jobtui keeps private is a symlink, not a folder/file, or another user's."""


def _check(path: Path, st: os.stat_result, *, folder: bool) -> None:
    """Refuse what is not this user's own folder (or regular file); tighten its mode if it is."""
    kind = "folder" if folder else "file"
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path} is a symlink, not a {kind}: refused (remove it; jobtui never follows it)")
    if not (stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)):
        raise UnsafePathError(f"{path} is not a {kind}: refused")
    if st.st_uid != os.geteuid():
        raise UnsafePathError(f"{path} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()}): refused"
                              " (remove it, or choose another place)")


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents as 0700 folders, or check the one there; return `path`.

    Raises:
        UnsafePathError: `path` is a symlink, not a folder, or another user's.
    """
    missing: list[Path] = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
    st = os.lstat(path)
    _check(path, st, folder=True)
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700, follow_symlinks=False)  # made 0755 by an older jobtui, or by the umask
    return path


def private_subdir(root: Path, name: str) -> Path:
    """Return `root/name`, both checked (or made) private folders of this user; `name` made and opened under
    `root`'s descriptor with O_NOFOLLOW, so that no symlink in `root` is ever followed.

    Raises:
        UnsafePathError: `root` or `root/name` is a symlink, not a folder, or another user's.
    """
    private_dir(root)
    fd = os.open(root, _DIR_FLAGS)
    try:
        _check(root, os.fstat(fd), folder=True)
        try:
            os.mkdir(name, 0o700, dir_fd=fd)
        except FileExistsError:
            pass
        try:
            sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            _check(root / name, os.lstat(name, dir_fd=fd), folder=True)
            raise
        try:
            st = os.fstat(sub)
            _check(root / name, st, folder=True)
            if stat.S_IMODE(st.st_mode) & 0o077:
                os.fchmod(sub, 0o700)
        finally:
            os.close(sub)
    finally:
        os.close(fd)
    return root / name


def open_private_log(path: Path) -> int:
    """Open `path` for appending (created 0600), never through a symlink; return the descriptor.

    Raises:
        UnsafePathError: `path` is a symlink, not a regular file, or another user's.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        if os.path.islink(path):
            raise UnsafePathError(f"{path} is a symlink, not a file: refused (remove it; jobtui never follows it)") \
                from e
        raise
    try:
        st = os.fstat(fd)
        _check(path, st, folder=False)
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)  # made 0644 by an older jobtui
    except BaseException:
        os.close(fd)
        raise
    return fd


__all__ = ["UnsafePathError", "open_private_log", "private_dir", "private_subdir"]
