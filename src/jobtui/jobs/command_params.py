"""The params of command jobs (`command`, `pipeline`, `foreach`), built the same way for the CLI and the TUI.

`jobtui add` / `jobtui foreach` parse their options into an `argparse.Namespace`; the TUI's new-job form fills
one with `command_args(...)`. `build_add` and `build_foreach` turn either into the job's type and params, so a
job queued from the form is the job the CLI would queue. Everything a command needs to run the same way after
a reboot is recorded here: the argv (or shell line), the working directory (default: the current one), PATH as
it is here, and the variables named with `--env`.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jobtui import check_allow_failures

from ..durations import parse_duration_ms
from ..errors import UsageError
from .command import command_line
from .command_spec import MAX_RETRIES, MAX_WORKERS, PAUSE_MODES, check_template, normalize_spec

_SIZE = re.compile(r"^([0-9]{1,15})\s*([kmg]i?b?|b)?$", re.IGNORECASE | re.ASCII)
MAX_SIZE = 1024**4
"""The largest size taken (`--output-limit`): 1 TiB."""
MAX_LINES_BYTES = 16 * 1024**2
"""The largest `--lines` file read (16 MiB): its lines are stored in the job, and /dev/zero never ends."""


def parse_size(text: str) -> int:
    """Parse '500000', '10M', '1GiB' into bytes (ASCII digits, at most 1 TiB).

    Raises:
        UsageError: not a size, or too large.
    """
    m = _SIZE.match(text.strip())
    if not m:
        raise UsageError(f"bad size {text!r} (examples: 1000000, 500K, 10M, 1G)")
    unit = (m.group(2) or "b").lower()[0]
    size = int(m.group(1)) * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    if size > MAX_SIZE:
        raise UsageError(f"size {text!r} is too large (at most 1024G)")
    return size


def command_argv(a: argparse.Namespace) -> list[str]:
    """Return the command after `--` (argparse REMAINDER keeps the `--`)."""
    argv = list(a.argv or [])
    if argv and argv[0] == "--":
        argv = argv[1:]
    return argv


def parse_env(pairs: Sequence[str] | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Parse `--env K=V` and `--env K` (the caller's value of K).

    Raises:
        UsageError: a bad name, or `K` is not set in the caller's environment.
    """
    environ = dict(os.environ) if environ is None else environ
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise UsageError(f"bad --env {pair!r} (expected NAME=VALUE or NAME)")
        if not sep:
            if key not in environ:
                raise UsageError(f"--env {key}: {key} is not set here (give a value: --env {key}=VALUE)")
            value = environ[key]
        out[key] = value
    return out


def duration_s(text: str | None) -> float | None:
    """Parse an optional positive duration into seconds (UsageError when bad)."""
    if text is None:
        return None
    ms = parse_duration_ms(text)
    if ms <= 0:
        raise UsageError(f"bad duration {text!r}: must be more than 0")
    return ms / 1000


def resolve_cwd(text: str | None) -> str:
    """Return the absolute working folder (default: the current one); UsageError when it is not a folder."""
    path = Path(text).expanduser() if text else Path.cwd()
    path = path.absolute()
    if not path.is_dir():
        raise UsageError(f"--cwd {text}: no such folder")
    return str(path)


def common_env(a: argparse.Namespace) -> dict[str, str]:
    """Return PATH as it is here plus the variables named with --env."""
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    env.update(parse_env(a.env))
    return env


def stage_options(a: argparse.Namespace) -> dict[str, Any]:
    """Return the stage options --timeout, --retries and --pause give."""
    if a.retries is not None and a.retries < 0:
        raise UsageError("--retries must be 0 or more")
    out: dict[str, Any] = {"timeout_s": duration_s(a.timeout), "pause": a.pause or "freeze"}
    if a.retries is not None:
        out["retries"] = a.retries
    return out


def job_params(a: argparse.Namespace, stages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Return a command job's params: its name, its stages and the output limit."""
    params: dict[str, Any] = {"name": a.name or "", "stages": stages, **extra}
    if a.output_limit is not None:
        params["output_limit"] = parse_size(a.output_limit)
    return params


def check_spec(spec: dict[str, Any], where: str, *, foreach: bool = False) -> dict[str, Any]:
    """Validate and normalize one stage spec (UsageError when it does not fit)."""
    try:
        return normalize_spec(spec, where, foreach=foreach)
    except UsageError as e:
        raise UsageError(str(e)) from None


# ---------------------------------------------------------------------------------------- pipeline
def _read_text(label: str, read: Callable[[], str]) -> str:
    """Return what `read` reads from a user's file (or stdin); UsageError, starting with `label`, if it can't."""
    try:
        return read()
    except FileNotFoundError:
        raise UsageError(f"{label}: no such file") from None
    except OSError as e:
        raise UsageError(f"{label}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not a UTF-8 text file") from None


def load_pipeline(path: str, a: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Read a pipeline file: its stages as specs (paths resolved, PATH and --env added) and its name.

    Raises:
        UsageError: missing file, invalid TOML, or a stage that does not fit.
    """
    file = Path(path).expanduser()
    text = _read_text(f"pipeline file {path}", file.read_text)
    import tomllib  # a pipeline file only (start-up, issue 18)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"pipeline file {path}: invalid TOML ({e})") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise UsageError(f"pipeline file {path}: nested too deeply") from None
    raw = data.get("stage", data.get("stages"))
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"pipeline file {path}: no stages (write [[stage]] tables with name and run)")
    extra = sorted(set(data) - {"stage", "stages", "name", "env", "cwd"})
    if extra:
        raise UsageError(f"pipeline file {path}: unknown top-level key {extra[0]!r} (keys: name, env, cwd, [[stage]])")
    base_dir = file.absolute().parent
    default_cwd = resolve_cwd(a.cwd)
    top_env = data.get("env", {})
    if not isinstance(top_env, dict):
        raise UsageError(f"pipeline file {path}: env must be a table")
    common = {**common_env(a), **{k: str(v) for k, v in top_env.items()}}
    top_cwd = data.get("cwd")
    specs: list[dict[str, Any]] = []
    for i, st in enumerate(raw):
        where = f"{path}: stage {i + 1}"
        if not isinstance(st, dict):
            raise UsageError(f"{where}: must be a table")
        st = dict(st)
        timeout = st.pop("timeout", None)
        if isinstance(timeout, str):
            st["timeout_s"] = duration_s(timeout)
        elif timeout is not None:
            st["timeout_s"] = timeout
        cwd = st.get("cwd", top_cwd)
        st["cwd"] = str(base_dir / Path(cwd).expanduser()) if isinstance(cwd, str) else default_cwd
        env = st.get("env", {})
        if not isinstance(env, dict):
            raise UsageError(f"{where}: env must be a table")
        st["env"] = {**common, **env}
        if a.pause is not None and "pause" not in st:
            st["pause"] = a.pause
        specs.append(check_spec(st, where))
    name = data.get("name")
    return specs, name if isinstance(name, str) else file.stem


def _not_an_option(name: str) -> str:
    """Return a relative path that cannot be taken for an option: '-x' becomes './-x'."""
    return f"./{name}" if name.startswith("-") else name


def foreach_items(a: argparse.Namespace, cwd: str) -> list[str]:
    """Return the items of a foreach job from exactly one of --glob, --lines and --args."""
    given = [x for x in (a.glob is not None, a.lines is not None, a.args is not None) if x]
    if len(given) != 1:
        raise UsageError("foreach needs exactly one of --glob PATTERN, --lines FILE, --args A B ...")
    if a.glob is not None:
        if not a.glob.strip():
            raise UsageError("--glob needs a pattern")
        pattern = a.glob if os.path.isabs(a.glob) else os.path.join(cwd, a.glob)
        found = sorted(glob.glob(pattern, recursive=True))
        if not found:
            raise UsageError(f"--glob {a.glob!r} matches nothing in {cwd}: no job created")
        # Items as the pattern names them (relative to the job's folder when the pattern was). A relative
        # name starting with '-' gets './' so that it stays a name: `find {} -delete` over a file named
        # '-delete' must not read it as an option (issue 14, item 11).
        if os.path.isabs(a.glob):
            return found
        return [_not_an_option(os.path.relpath(p, cwd)) for p in found]
    if a.lines is not None:
        text = _read_text(f"--lines {a.lines}", lambda: _read_bounded(a.lines))
        # Lines end at '\n' only (str.splitlines also splits at form feed, U+0085, U+2028...): an item is
        # what `wc -l`, `xargs -d '\n'` and GNU parallel take as a line.
        items = [ln.removesuffix("\r") for ln in text.split("\n") if ln.strip()]
        if not items:
            raise UsageError(f"--lines {a.lines}: no lines, so nothing to run")
        return items
    items = list(a.args)
    if not items:
        raise UsageError("--args needs at least one item")
    return items


def _read_bounded(path: str) -> str:
    """Return a file (or stdin) of at most MAX_LINES_BYTES; UsageError for a bigger one (read no further)."""
    if path == "-":
        data: str | bytes = sys.stdin.read(MAX_LINES_BYTES + 1)
    else:
        with Path(path).expanduser().open("rb") as f:
            data = f.read(MAX_LINES_BYTES + 1)
    if len(data) > MAX_LINES_BYTES:
        raise UsageError(f"--lines {path}: larger than {MAX_LINES_BYTES // 1024**2} MiB")
    return data if isinstance(data, str) else data.decode()


def command_args(**given: Any) -> argparse.Namespace:
    """Return the options of `add`/`foreach` as argparse gives them when not set, with `given` on top."""
    defaults: dict[str, Any] = {"argv": [], "shell": None, "pipeline": None, "name": None, "cwd": None, "env": None,
                                "timeout": None, "retries": None, "pause": None, "output_limit": None,
                                "glob": None, "lines": None, "args": None, "workers": 1, "allow_failures": None}
    unknown = set(given) - set(defaults)
    if unknown:
        raise TypeError(f"unknown command options: {sorted(unknown)}")
    return argparse.Namespace(**{**defaults, **given})


def build_add(a: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Return the job type and params `jobtui add` queues: one command, one shell line or a pipeline file.

    Raises:
        UsageError: what is wrong with the options (nothing is queued).
    """
    argv = command_argv(a)
    if a.pipeline:
        if argv or a.shell is not None:
            raise UsageError("--pipeline takes its commands from the file: give no command after it")
        specs, name = load_pipeline(a.pipeline, a)
        if a.timeout or a.retries is not None:
            raise UsageError("--timeout and --retries go in the pipeline file, per stage")
        params = job_params(a, specs, file=str(Path(a.pipeline).expanduser().absolute()))
        params["name"] = a.name or name
        return "pipeline", params
    if a.shell is not None:
        if argv:
            raise UsageError("give either --shell 'LINE' or -- CMD ARG..., not both")
        if not a.shell.strip():
            raise UsageError("empty command: --shell needs a command line")
        run: str | list[str] = a.shell
    else:
        if not argv or not argv[0].strip():
            raise UsageError("empty command: give one after -- (jobtui add -- CMD ARG...) or use --shell 'LINE'")
        run = argv
    spec = {"name": "run", "run": run, "cwd": resolve_cwd(a.cwd), "env": common_env(a), **stage_options(a)}
    if isinstance(run, list) and not program_found(run[0], spec["cwd"], spec["env"].get("PATH")):
        raise ProgramNotFoundError(run[0], spec["cwd"])
    spec = check_spec(spec, "command")
    params = job_params(a, [spec])
    params["name"] = a.name or command_line(run)[:80]
    return "command", params


class ProgramNotFoundError(UsageError):
    """The program of a command is neither on PATH nor in its folder (or is not executable): refused at `add`."""

    def __init__(self, program: str, cwd: str) -> None:
        self.program = program
        super().__init__(f"{program!r}: no such program on PATH or in {cwd} (or it is not executable);"
                         " for a shell builtin or shell syntax use --shell 'LINE'")


def program_found(program: str, cwd: str, path: str | None) -> bool:
    """Tell whether `program` can be run from `cwd` with PATH `path`: found and executable (as `add` and `schedule add` check)."""
    return shutil.which(program, path=path) is not None or shutil.which(str(Path(cwd) / program)) is not None


def _check_words_before_dashes(a: argparse.Namespace, cwd: str) -> None:
    """Refuse the shape an unquoted `--glob files/*.txt` takes once the shell expanded it (issue 15, item 3).

    `--glob f1 f2 f3 --workers 2 -- echo` leaves `f2 f3 --workers 2 -- echo` as the command: words before
    the `--`, or, without a `--`, a pattern with no wildcard followed by paths that exist.
    """
    raw = list(a.argv or [])
    if not raw or raw[0] == "--":
        return
    hint = (" (an unquoted --glob pattern that the shell expanded? quote the pattern: --glob 'files/*.txt')"
            if a.glob is not None and not glob.has_magic(a.glob) else "")
    if "--" in raw:
        words = " ".join(raw[: raw.index("--")])
        raise UsageError(f"words before --: {words[:200]!r}; options go before --, the command after it{hint}")
    if a.glob is not None and not glob.has_magic(a.glob) and os.path.lexists(os.path.join(cwd, raw[0])):
        raise UsageError(f"--glob {a.glob!r} has no wildcard and more paths follow it ({raw[0]!r} ...):"
                         " quote the pattern, e.g. --glob 'files/*.txt', so that the shell does not expand it")


def build_foreach(a: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Return the job type and params `jobtui foreach` queues: one command run once per item.

    Raises:
        UsageError: what is wrong with the options (nothing is queued).
    """
    argv = command_argv(a)
    if not argv or not argv[0].strip():
        raise UsageError("empty command: give one after -- (jobtui foreach --glob '*.txt' -- CMD {})")
    cwd = resolve_cwd(a.cwd)
    _check_words_before_dashes(a, cwd)
    check_template(argv)
    if a.workers < 1:
        raise UsageError("--workers must be at least 1")
    items = foreach_items(a, cwd)
    spec = {"name": "each", "run": argv, "cwd": cwd, "env": common_env(a), "items": items, "workers": a.workers,
            **stage_options(a)}
    if a.allow_failures is not None:
        try:
            spec["allow_failures"] = check_allow_failures(a.allow_failures)
        except ValueError:
            raise UsageError(f"--allow-failures takes a number of items (3) or a percentage (10%),"
                             f" not {a.allow_failures!r}") from None
    spec = check_spec(spec, "foreach", foreach=True)
    params = job_params(a, [spec])
    params["name"] = a.name or f"{command_line(argv)[:60]} ({len(spec['items'])} items)"
    return "foreach", params


__all__ = ["MAX_RETRIES", "MAX_WORKERS", "PAUSE_MODES", "ProgramNotFoundError", "build_add", "build_foreach", "command_args", "load_pipeline",
           "parse_env", "parse_size"]
