"""Run the real CLI inside the test process: `jobtui.cli.main(argv)` with its own stdin, stdout, stderr,
environment and exit status, as a `python -m jobtui` child would see them (issue 20: the suite's time).

A `python -m jobtui` costs about 0.3 CPU-seconds to start, mostly the interpreter and the imports; called
in-process the same code costs a few milliseconds. `tests/conftest.py`'s `jobtui(...)` runs here unless a
process is the point: the commands that run until told to stop or take the terminal (`run`, `serve`, the
TUI, ...) and calls whose environment only a new interpreter honours (`PYTHON*`, the locale, `TZ`) still get
a real process, and so does every call when `JOBTUI_TESTS_CLI=process` (to check that both ways agree).

What a child would get is reproduced: the environment is exactly the one given (restored afterwards, with
whatever the CLI set in it); stdin is empty unless `input` is given and is never a terminal; stdout and stderr
are UTF-8 text (stderr with `backslashreplace`, as Python's own); warnings follow Python's default filters,
not the suite's `error`; a log record of WARNING or above that nothing handles is printed on stderr (Python's
last-resort handler); an exception that escapes `main` prints its traceback on stderr and exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import locale
import logging
import os
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from jobtui.cli import main

OWN_PROCESS = frozenset({"run", "serve", "web", "tui", "demo"})
"""Commands that run until stopped, install signal handlers, configure logging or draw on a terminal."""

_GLOBAL_WITH_VALUE = frozenset({"--db", "--db-file", "--app", "--workspace-root", "--config"})
_STARTUP_ENV = ("PYTHON", "LANG", "LC_", "TZ")
"""Variables read only when an interpreter starts (its path, encodings, locale, time zone)."""


def command_of(argv: Sequence[str]) -> str | None:
    """Return the subcommand `argv` names (None: the TUI), skipping the global options and their values."""
    it = iter(argv)
    for arg in it:
        if arg in _GLOBAL_WITH_VALUE:
            next(it, None)
        elif arg == "--":
            return next(it, None)
        elif not arg.startswith("-"):
            return arg
    return None


def in_process_ok(argv: Sequence[str], env: dict[str, str], extra: dict[str, str], cwd: Path | str | None = None) -> bool:
    """Tell whether this call may run in the test process (see the module's docstring).

    Not when the child would import app modules this process cannot, or would import other ones under the
    same names: from a PYTHONPATH entry this process lacks, or from the folder it starts in.
    """
    if os.environ.get("JOBTUI_TESTS_CLI") == "process":
        return False
    if command_of(argv) in OWN_PROCESS or any(k.startswith(_STARTUP_ENV) for k in extra):
        return False
    if cwd is not None and ("--app" in argv or env.get("JOBTUI_APP")):
        return False
    wanted = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return all(p in sys.path or str(Path(p).resolve()) in sys.path for p in wanted)


@contextlib.contextmanager
def _environment(env: dict[str, str], cwd: Path | str | None) -> Iterator[None]:
    saved, here = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _last_resort_logging(stderr: io.TextIOBase) -> Iterator[None]:
    """Route log records as a fresh interpreter would: nothing configured, WARNING and above on stderr."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logging.StreamHandler(stderr)
    handler.setLevel(logging.WARNING)
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers, level = saved
        root.setLevel(level)


@contextlib.contextmanager
def _default_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        yield


def _call(argv: list[str]) -> int:
    """Run `main(argv)` and return its exit status, printing an escaped exception as Python would."""
    try:
        main(argv)
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


@functools.cache
def _child_stdio() -> tuple[str, str]:
    """Return the encoding and error handler of a child interpreter's stdin and stdout (they follow the locale)."""
    probe = "import sys; print(sys.stdout.encoding, sys.stdout.errors)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    encoding, errors = out.stdout.split()
    return encoding, errors


def _text(data: bytes) -> str:
    """Decode a child's output as `subprocess.run(..., text=True)` does (locale encoding, universal newlines)."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def run_in_process(argv: Sequence[str], env: dict[str, str], input: str | None = None, *,
                   cwd: Path | str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `jobtui ARGV` in this process with `env` as its whole environment (in `cwd`); return what a child would have."""
    encoding, errors = _child_stdio()
    out_b, err_b = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out_b, encoding=encoding, errors=errors, write_through=True)
    stderr = io.TextIOWrapper(err_b, encoding=encoding, errors="backslashreplace", write_through=True)
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode(encoding, errors)), encoding=encoding, errors=errors)
    args = list(argv)
    code = 0

    def call() -> None:
        nonlocal code
        code = _call(args)

    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        with _environment(env, cwd), _last_resort_logging(stderr), _default_warnings():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                call()
            else:
                # An async test: main() runs its own event loop, which needs a thread without one.
                thread = threading.Thread(target=call, name="jobtui-cli")
                thread.start()
                thread.join()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        stdout.flush()
        stderr.flush()
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "jobtui", *args], code, _text(out_b.getvalue()), _text(err_b.getvalue()),
    )
