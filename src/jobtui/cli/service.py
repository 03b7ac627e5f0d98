"""`jobtui service install|status|uninstall`: `jobtui run` as a systemd user service (a launchd agent on macOS).

`install` writes a unit that runs `jobtui run` with this interpreter (its absolute path), the database, the apps and
the workspace root of this command line pinned in it, and the run options given after `--`; then enables and starts
it (`systemctl --user enable --now`). The unit restarts the runner when it fails, never when it stopped cleanly (a
`jobtui runners stop`, a SIGTERM), and stops it with SIGTERM and a stop timeout above the runner's grace, so that its
jobs reach a safe point before anything is killed. Where systemd (launchd) is absent, it says so in one line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import plistlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import JobtuiError, UsageError
from ..redaction import has_secret
from .commands import Command, add_global_options, register

MANAGERS = ("systemd", "launchd")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
STOP_MARGIN_S = 30
"""How much longer than the runner's grace the service manager waits for it to stop before SIGKILL (the runner waits
the grace, then up to 5 s for its jobs' tasks and 10 s to commit)."""


@dataclass(frozen=True, slots=True)
class Service:
    """What one installed service runs, and where its file goes."""

    name: str
    argv: tuple[str, ...]
    """The command line: this interpreter's absolute path, `-m jobtui run`, the pinned options."""
    env: dict[str, str]
    """Variables the runner needs (PYTHONPATH for the apps; JOBTUI_DB when it holds no password)."""
    secret_env: dict[str, str]
    """Variables kept out of the unit (a database URL with a password): an environment file only its owner reads."""
    cwd: str
    stop_timeout_s: int


def _manager(a: argparse.Namespace) -> str:
    return a.manager or ("launchd" if sys.platform == "darwin" else "systemd")


def unit_path(manager: str, name: str) -> Path:
    """Return where the unit (or the agent's plist) of service `name` goes."""
    if manager == "launchd":
        return Path.home() / "Library/LaunchAgents" / f"{label(name)}.plist"
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "systemd/user" / f"{name}.service"


def env_path(name: str) -> Path:
    """Return the environment file that carries a database URL with a password (mode 0600)."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "jobtui" / f"{name}.env"


def label(name: str) -> str:
    """Return the launchd label of service `name`."""
    return f"jobtui.{name}"


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(f"--name: bad service name {name!r} (1-64 letters, digits, '.', '_', '-', '@';"
                         " starting with a letter or digit)")
    return name


def service_of(a: argparse.Namespace) -> Service:
    """Return the service `install` writes for this command line (the run options checked as `jobtui run` would).

    Raises:
        UsageError: a bad name or run option (one line).
    """
    from ..client.core import default_db_path
    from .main import build_parser

    name = _check_name(a.name)
    options = list(a.run_options or ())
    if options[:1] == ["--"]:
        options = options[1:]
    if not options or "--name" not in [o.split("=", 1)[0] for o in options]:
        options += ["--name", name]
    run = build_parser().parse_args(["run", *options])  # bad run options: one line, exit 2 (the parser's own)
    db = a.db or os.environ.get("JOBTUI_DB") or str(default_db_path())
    if "://" not in db:
        db = str(Path(db).expanduser().absolute())
    argv = [str(Path(sys.executable).absolute()), "-m", "jobtui", "run"]
    for app in a.app or ():
        argv += ["--app", app]
    if getattr(a, "workspace_root", None):
        argv += ["--workspace-root", str(Path(a.workspace_root).expanduser().absolute())]
    env = {"PYTHONUNBUFFERED": "1"}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).absolute()) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)
    secret = {"JOBTUI_DB": db} if has_secret(db) else {}
    if not secret:
        env["JOBTUI_DB"] = db
    return Service(name, (*argv, *options), env, secret, str(Path.cwd()), int(run.grace) + STOP_MARGIN_S)


def _quote(value: str, *, command: bool = True) -> str:
    """Quote one word of a unit file's ExecStart= (or, not `command`, Environment=): C escapes in double quotes,
    `%` doubled (systemd's specifiers), and in a command `$` doubled (no variable expansion)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped.replace("$", "$$") if command else escaped}"'


def systemd_unit(s: Service) -> str:
    """Return the text of the systemd user unit that runs `s`."""
    lines = [
        "[Unit]",
        f"Description=jobtui runner {s.name} (jobtui run)",
        "",
        "[Service]",
        "Type=exec",
        "ExecStart=" + " ".join(_quote(w) for w in s.argv),
        f"WorkingDirectory={s.cwd.replace('%', '%%')}",
        *(f"Environment={_quote(f'{k}={v}', command=False)}" for k, v in sorted(s.env.items())),
        *([f"EnvironmentFile={str(env_path(s.name)).replace('%', '%%')}"] if s.secret_env else []),
        "# A runner that stopped cleanly (SIGTERM, `jobtui runners stop`) exits 0 and stays stopped.",
        "Restart=on-failure",
        "RestartSec=5",
        "KillSignal=SIGTERM",
        "KillMode=mixed",
        f"TimeoutStopSec={s.stop_timeout_s}",
        "",
        "[Install]",
        "WantedBy=default.target",
    ]
    return "\n".join(lines) + "\n"


def launchd_plist(s: Service) -> bytes:
    """Return the launchd agent (a plist) that runs `s`: at login, again when it exits with a failure."""
    logs = Path.home() / "Library/Logs" / f"jobtui-{s.name}.log"
    return plistlib.dumps({
        "Label": label(s.name),
        "ProgramArguments": list(s.argv),
        "EnvironmentVariables": {**s.env, **s.secret_env},
        "WorkingDirectory": s.cwd,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ExitTimeOut": s.stop_timeout_s,
        "StandardOutPath": str(logs),
        "StandardErrorPath": str(logs),
    })


def _tool(manager: str) -> str:
    """Return the path of systemctl (launchctl), or say in one line that the manager is absent."""
    tool = "launchctl" if manager == "launchd" else "systemctl"
    path = shutil.which(tool)
    if path is None:
        raise JobtuiError(f"{manager} is absent here (no {tool} in PATH): `jobtui service install --print` shows the"
                          " file to install by hand, or run `jobtui run` in tmux")
    return path


def _ctl(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run systemctl --user (launchctl) with `args`; return what it did."""
    user = ("--user",) if Path(tool).name == "systemctl" else ()
    try:
        return subprocess.run([tool, *user, *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess([tool, *args], 1, "", str(e))


def _first_line(r: subprocess.CompletedProcess[str]) -> str:
    return next((ln.strip() for ln in (r.stderr or r.stdout).splitlines() if ln.strip()), f"exit {r.returncode}")


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(path, mode)
    except OSError as e:
        raise JobtuiError(f"cannot write {path}: {e.strerror or e}") from None


def _install(a: argparse.Namespace) -> int:
    manager = _manager(a)
    s = service_of(a)
    text: str | bytes = launchd_plist(s) if manager == "launchd" else systemd_unit(s)
    if a.print:
        sys.stdout.write(text.decode() if isinstance(text, bytes) else text)
        return 0
    tool = _tool(manager)
    if manager == "systemd" and not a.no_enable and not Path("/run/systemd/system").is_dir():
        raise JobtuiError("systemd is not running on this machine (no /run/systemd/system: a container, WSL?):"
                          " `--no-enable` writes the unit only, or run `jobtui run` in tmux")
    path = unit_path(manager, s.name)
    if path.exists() and not a.replace:
        raise UsageError(f"{path} exists: `jobtui service uninstall --name {s.name}` first, or give --replace")
    if s.secret_env:
        _write(env_path(s.name), "".join(f"{k}={v}\n" for k, v in s.secret_env.items()), 0o600)
    _write(path, text, 0o600 if manager == "launchd" and s.secret_env else 0o644)
    print(f"wrote {path}")
    if a.no_enable:
        return 0
    steps = ([("bootstrap", f"gui/{os.getuid()}", str(path))] if manager == "launchd"
             else [("daemon-reload",), ("enable", "--now", f"{s.name}.service")])
    for step in steps:
        r = _ctl(tool, *step)
        if r.returncode != 0:
            raise JobtuiError(f"wrote {path}, but `{Path(tool).name} {' '.join(step)}` failed: {_first_line(r)}")
    if manager == "launchd":
        print(f"started {label(s.name)}: it starts at each login; logs in ~/Library/Logs/jobtui-{s.name}.log")
    else:
        print(f"enabled and started {s.name}.service: `systemctl --user status {s.name}`,"
              f" `journalctl --user -u {s.name} -f`")
        print(f"to keep it running when you are logged out: loginctl enable-linger {getpass.getuser()}")
    return 0


def _installed(a: argparse.Namespace, error: type[JobtuiError]) -> tuple[str, str, Path]:
    """Return (manager, name, unit path) of the service `a` names; raise `error` when it is not installed."""
    manager, name = _manager(a), _check_name(a.name)
    path = unit_path(manager, name)
    if not path.exists():
        raise error(f"service {name!r} is not installed ({path} does not exist): `jobtui service install`")
    return manager, name, path


def _status(a: argparse.Namespace) -> int:
    manager, name, path = _installed(a, JobtuiError)
    print(f"{name}: installed at {path}")
    tool = _tool(manager)
    if manager == "launchd":
        r = _ctl(tool, "print", f"gui/{os.getuid()}/{label(name)}")
        state = next((ln.split("=", 1)[1].strip() for ln in r.stdout.splitlines() if ln.strip().startswith("state =")),
                     _first_line(r))
    else:
        enabled, active = _ctl(tool, "is-enabled", f"{name}.service"), _ctl(tool, "is-active", f"{name}.service")
        state = (f"{enabled.stdout.strip() or _first_line(enabled)}, {active.stdout.strip() or _first_line(active)}"
                 if enabled.stdout.strip() or active.stdout.strip() else _first_line(active))
    print(f"{manager}: {state}")
    print(f"the runner: `jobtui runners` (named {name} unless its run options say otherwise)")
    return 0


def _uninstall(a: argparse.Namespace) -> int:
    manager, name, path = _installed(a, UsageError)
    tool = shutil.which("launchctl" if manager == "launchd" else "systemctl")
    note = ""
    if tool is not None:
        steps = ([("bootout", f"gui/{os.getuid()}/{label(name)}")] if manager == "launchd"
                 else [("disable", "--now", f"{name}.service")])
        for step in steps:
            r = _ctl(tool, *step)
            if r.returncode != 0:
                note = f" ({Path(tool).name} {step[0]}: {_first_line(r)})"
    try:
        path.unlink()
        env_path(name).unlink(missing_ok=True)
    except OSError as e:
        raise JobtuiError(f"cannot remove {path}: {e.strerror or e}") from None
    if tool is not None and manager == "systemd":
        _ctl(tool, "daemon-reload")
    print(f"removed {path}{note}")
    return 0


def _args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    install = sub.add_parser("install", help="write, enable and start a service that runs `jobtui run`",
                             description="write a systemd user unit (macOS: a launchd agent) that runs `jobtui run`"
                                         " on this database with these apps, enable and start it; run options go"
                                         " after --")
    status = sub.add_parser("status", help="whether the service is installed, enabled and running")
    uninstall = sub.add_parser("uninstall", help="stop and disable the service and remove its file")
    for p in (install, status, uninstall):
        p.add_argument("--name", default="jobtui", metavar="NAME",
                       help="the service's name (and the runner's, unless the run options name it)")
        p.add_argument("--manager", choices=MANAGERS, default=None,
                       help="systemd or launchd (default: launchd on macOS, else systemd)")
        add_global_options(p)
    install.add_argument("--user", action="store_true",
                         help="a unit of your user's service manager (what it always writes: no root needed)")
    install.add_argument("--print", action="store_true", help="print the unit (or plist) instead of installing it")
    install.add_argument("--no-enable", action="store_true",
                         help="write the unit only (e.g. in an image that boots with systemd later)")
    install.add_argument("--replace", action="store_true", help="overwrite a unit of this name")
    install.add_argument("run_options", nargs=argparse.REMAINDER, metavar="-- RUN OPTION",
                         help="options of `jobtui run`, after --: e.g. -- --concurrency 8 --tag gpu")


async def cmd_service(a: argparse.Namespace) -> int:
    """Install, describe or remove the service that runs `jobtui run`."""
    action = {"install": _install, "status": _status, "uninstall": _uninstall}[a.service_command]
    return action(a)


register(Command("service", "run `jobtui run` as a service: service install|status|uninstall (systemd, launchd)",
                 raw=cmd_service, args=_args, order=63))


__all__ = ["launchd_plist", "service_of", "systemd_unit", "unit_path"]
