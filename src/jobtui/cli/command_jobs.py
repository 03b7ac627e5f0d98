"""Command jobs: `jobtui add -- CMD ...`, `add --shell`, `add --pipeline FILE.toml`, `foreach`.

Everything a command needs to run the same way after a reboot is recorded when it is queued: the
argv (or shell line), the working directory (default: where `add` ran), PATH as it was there, and
the variables named with `--env`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import glob
import io
import os
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import UsageError
from ..jobs.command import PAUSE_MODES, check_template, command_line, normalize_spec
from ..model import LogLine, iso, scrub_urls
from ..redaction import Secrets, redact
from .commands import command
from .deps import add_after_option, parse_after
from .parse import parse_duration_ms, parse_time_ms

_SIZE = re.compile(r"^(\d+)\s*([kmg]i?b?|b)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse '500000', '10M', '1GiB' into bytes.

    Raises:
        UsageError: not a size.
    """
    m = _SIZE.match(text.strip())
    if not m:
        raise UsageError(f"bad size {text!r} (examples: 1000000, 500K, 10M, 1G)")
    unit = (m.group(2) or "b").lower()[0]
    return int(m.group(1)) * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def _argv(a: argparse.Namespace) -> list[str]:
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


def _duration_s(text: str | None) -> float | None:
    if text is None:
        return None
    ms = parse_duration_ms(text)
    if ms <= 0:
        raise UsageError(f"bad duration {text!r}: must be more than 0")
    return ms / 1000


def _cwd(text: str | None) -> str:
    path = Path(text).expanduser() if text else Path.cwd()
    path = path.absolute()
    if not path.is_dir():
        raise UsageError(f"--cwd {text}: no such folder")
    return str(path)


def _common_env(a: argparse.Namespace) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    env.update(parse_env(a.env))
    return env


def _options(a: argparse.Namespace) -> dict[str, Any]:
    if a.priority is not None and not -1_000_000 <= a.priority <= 1_000_000:
        raise UsageError("--priority must be between -1000000 and 1000000")
    if a.max_retries is not None and a.max_retries < 0:
        raise UsageError("--max-retries must be 0 or more")
    opts: dict[str, Any] = {"priority": a.priority or 0, "unique_key": a.unique_key, "max_retries": a.max_retries,
                            "after": parse_after(a.after)}
    if a.at:
        opts["run_at_ms"] = parse_time_ms(a.at)
    return opts


def _stage_options(a: argparse.Namespace) -> dict[str, Any]:
    if a.retries is not None and a.retries < 0:
        raise UsageError("--retries must be 0 or more")
    out: dict[str, Any] = {"timeout_s": _duration_s(a.timeout), "pause": a.pause or "freeze"}
    if a.retries is not None:
        out["retries"] = a.retries
    return out


def _job_params(a: argparse.Namespace, stages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"name": a.name or "", "stages": stages, **extra}
    if a.output_limit is not None:
        params["output_limit"] = parse_size(a.output_limit)
    return params


def _check(spec: dict[str, Any], where: str, *, foreach: bool = False) -> dict[str, Any]:
    try:
        return normalize_spec(spec, where, foreach=foreach)
    except UsageError as e:
        raise UsageError(str(e)) from None


# ---------------------------------------------------------------------------------------- pipeline
def load_pipeline(path: str, a: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Read a pipeline file: its stages as specs (paths resolved, PATH and --env added) and its name.

    Raises:
        UsageError: missing file, invalid TOML, or a stage that does not fit.
    """
    file = Path(path).expanduser()
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise UsageError(f"pipeline file {path}: no such file") from None
    except OSError as e:
        raise UsageError(f"pipeline file {path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise UsageError(f"pipeline file {path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"pipeline file {path}: invalid TOML ({e})") from None
    raw = data.get("stage", data.get("stages"))
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"pipeline file {path}: no stages (write [[stage]] tables with name and run)")
    extra = sorted(set(data) - {"stage", "stages", "name", "env", "cwd"})
    if extra:
        raise UsageError(f"pipeline file {path}: unknown top-level key {extra[0]!r} (keys: name, env, cwd, [[stage]])")
    base_dir = file.absolute().parent
    default_cwd = _cwd(a.cwd)
    top_env = data.get("env", {})
    if not isinstance(top_env, dict):
        raise UsageError(f"pipeline file {path}: env must be a table")
    common = {**_common_env(a), **{k: str(v) for k, v in top_env.items()}}
    top_cwd = data.get("cwd")
    specs: list[dict[str, Any]] = []
    for i, st in enumerate(raw):
        where = f"{path}: stage {i + 1}"
        if not isinstance(st, dict):
            raise UsageError(f"{where}: must be a table")
        st = dict(st)
        timeout = st.pop("timeout", None)
        if isinstance(timeout, str):
            st["timeout_s"] = _duration_s(timeout)
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
        specs.append(_check(st, where))
    name = data.get("name")
    return specs, name if isinstance(name, str) else file.stem


# ------------------------------------------------------------------------------------------ commands
def _shared(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--name", help="a name to show in lists (default: the command line)")
    sp.add_argument("--cwd", metavar="DIR", help="working folder (default: where you run this)")
    sp.add_argument("--env", action="append", metavar="K=V|K",
                    help="set a variable for the command; K alone takes your current value (repeatable)")
    sp.add_argument("--timeout", metavar="DURATION", help="end the command after this long: 90s, 10m, 2h")
    sp.add_argument("--retries", type=int, default=None, metavar="N",
                    help="re-run a failing command up to N times with backoff (default: only exit 75, 3 times)")
    sp.add_argument("--pause", choices=PAUSE_MODES, default=None,
                    help="what pause does to a running command: freeze (SIGSTOP, default) or restart")
    sp.add_argument("--output-limit", metavar="SIZE", help="output logged per job (default 8M); the rest is counted")
    sp.add_argument("--priority", type=int, default=None, help="higher runs first (default 0)")
    sp.add_argument("--at", metavar="TIME", help="not before TIME: +10m, 'in 2h', 2026-12-01T09:00")
    sp.add_argument("--unique-key", metavar="K", help="refuse if an active job has this key")
    sp.add_argument("--max-retries", type=int, default=None, help="automatic retries of the failed job")
    add_after_option(sp)


def _add_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--shell", metavar="LINE", help="run LINE with /bin/sh -c instead of an argv")
    sp.add_argument("--pipeline", metavar="FILE.toml", help="queue the [[stage]] commands of a TOML file, in order")
    _shared(sp)
    sp.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARG", help="the command, after --")


def _foreach_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--glob", metavar="PATTERN", help="items: the paths matching PATTERN (** for subfolders)")
    sp.add_argument("--lines", metavar="FILE", help="items: the non-empty lines of FILE ('-': stdin)")
    sp.add_argument("--args", nargs="+", metavar="ITEM", help="items: these arguments")
    sp.add_argument("--workers", type=int, default=1, metavar="N", help="items run at once (default 1)")
    _shared(sp)
    sp.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD {} ...",
                    help="the command; {} {name} {stem} {ext} {dir} {index} are replaced, each as one argument")


@command("add", "queue a command (add -- CMD ARG...), a shell line (--shell) or a pipeline (--pipeline F.toml)",
         args=_add_args, order=21)
async def cmd_add(client: Client, a: argparse.Namespace) -> int:
    """Queue one command, one shell line or a pipeline file; print the job's id."""
    argv = _argv(a)
    opts = _options(a)
    if a.pipeline:
        if argv or a.shell is not None:
            raise UsageError("--pipeline takes its commands from the file: give no command after it")
        specs, name = load_pipeline(a.pipeline, a)
        if a.timeout or a.retries is not None:
            raise UsageError("--timeout and --retries go in the pipeline file, per stage")
        params = _job_params(a, specs, file=str(Path(a.pipeline).expanduser().absolute()))
        params["name"] = a.name or name
        job_id = await client.submit("pipeline", params, **opts)
        print(job_id)
        return 0
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
    spec = {"name": "run", "run": run, "cwd": _cwd(a.cwd), "env": _common_env(a), **_stage_options(a)}
    spec = _check(spec, "command")
    params = _job_params(a, [spec])
    params["name"] = a.name or command_line(run)[:80]
    job_id = await client.submit("command", params, **opts)
    print(job_id)
    return 0


def _items(a: argparse.Namespace, cwd: str) -> list[str]:
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
        # Items as the pattern names them (relative to the job's folder when the pattern was).
        return found if os.path.isabs(a.glob) else [os.path.relpath(p, cwd) for p in found]
    if a.lines is not None:
        path = Path(a.lines).expanduser()
        try:
            text = sys.stdin.read() if a.lines == "-" else path.read_text()
        except FileNotFoundError:
            raise UsageError(f"--lines {a.lines}: no such file") from None
        except OSError as e:
            raise UsageError(f"--lines {a.lines}: cannot read ({e.strerror or e})") from None
        except UnicodeDecodeError:
            raise UsageError(f"--lines {a.lines}: not a UTF-8 text file") from None
        items = [ln for ln in text.splitlines() if ln.strip()]
        if not items:
            raise UsageError(f"--lines {a.lines}: no lines, so nothing to run")
        return items
    items = list(a.args)
    if not items:
        raise UsageError("--args needs at least one item")
    return items


@command("foreach", "queue one job that runs a command per file (--glob), line (--lines) or argument (--args)",
         args=_foreach_args, order=22)
async def cmd_foreach(client: Client, a: argparse.Namespace) -> int:
    """Queue one job that runs a command once per item; print its id."""
    argv = _argv(a)
    if not argv or not argv[0].strip():
        raise UsageError("empty command: give one after -- (jobtui foreach --glob '*.txt' -- CMD {})")
    check_template(argv)
    if a.workers < 1:
        raise UsageError("--workers must be at least 1")
    opts = _options(a)
    cwd = _cwd(a.cwd)
    items = _items(a, cwd)
    spec = {"name": "each", "run": argv, "cwd": cwd, "env": _common_env(a), "items": items, "workers": a.workers,
            **_stage_options(a)}
    spec = _check(spec, "foreach", foreach=True)
    params = _job_params(a, [spec])
    params["name"] = a.name or f"{command_line(argv)[:60]} ({len(spec['items'])} items)"
    job_id = await client.submit("foreach", params, **opts)
    print(job_id)
    return 0


# ------------------------------------------------------------------------------------------ export / logs
async def write_foreach_csv(client: Client, job_id: int, out: io.TextIOBase | Any, secrets: Secrets | None = None) -> int:
    """Write one row per item of a foreach job: item, status, exit code, duration, attempts, last output."""
    writer = csv.writer(out)
    writer.writerow(["item", "status", "exit_code", "duration_s", "attempts", "output", "error"])
    count = 0
    async for item in client.export(job_id):
        r = item.result if isinstance(item.result, dict) else {}
        output = r.get("output") or []
        writer.writerow([scrub_urls(item.key), item.status.value, "" if r.get("exit_code") is None else r["exit_code"],
                         r.get("duration_s", ""), item.attempts,
                         redact(" | ".join(str(x) for x in output), secrets), redact(item.error or "", secrets)])
        count += 1
    return count


async def follow_all(client: Client, a: argparse.Namespace) -> int:
    """Print every job's log with `[id]` prefixes; with --follow, keep printing new lines (until Ctrl-C)."""
    secrets: dict[int, Secrets] = {}

    async def show(line: LogLine) -> None:
        if line.job_id not in secrets:
            try:
                secrets[line.job_id] = Secrets.of((await client.job(line.job_id)).params)
            except UsageError:  # deleted since
                secrets[line.job_id] = Secrets.of({})
        print(f"[{line.job_id}] {iso(line.ts_ms)} {line.level:<7} {redact(line.message, secrets[line.job_id])}")

    lines = await client.all_logs(tail=True, limit=a.lines) if a.lines else []
    last = lines[-1].log_id if lines else await client.last_log_id()
    for line in lines:
        await show(line)
    sys.stdout.flush()
    while a.follow:
        await asyncio.sleep(0.3)
        new = await client.all_logs(after_id=last, limit=5000)
        for line in new:
            await show(line)
            last = line.log_id
        sys.stdout.flush()
    return 0


__all__ = ["cmd_add", "cmd_foreach", "follow_all", "load_pipeline", "parse_env", "parse_size", "write_foreach_csv"]
