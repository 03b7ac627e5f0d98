"""Built-in command job types: `command` (one command), `pipeline` (stages from TOML), `foreach` (per item).

Each job's stages are built from its params (`JobType(stages_from=...)`): a list of stage specs
```
{"name": "build", "run": ["make", "-j4"] | "shell line", "cwd": "/abs/dir", "env": {"K": "V"},
 "timeout_s": 600, "retries": 2, "pause": "freeze" | "restart"}
```
and, for `foreach`, `"items": [...]`, `"workers": N` with placeholders in `run`.

A command talks to the runner through marker lines on stdout, which are not logged:
`::jobtui progress DONE/TOTAL [message]` and `::jobtui checkpoint JSON` (read by command_output.py,
with its limits). It finds its last checkpoint in the file `$JOBTUI_STATE_FILE` (empty on the first
run) and, up to 64 KiB, in `$JOBTUI_STATE`, beside `$JOBTUI_JOB_ID`, `$JOBTUI_STAGE`,
`$JOBTUI_ATTEMPT`, `$JOBTUI_WORKSPACE` and `$JOBTUI_IDEMPOTENCY_KEY` (and, in a queue, `$JOBTUI_QUEUE`
and `$JOBTUI_SLOT`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

from jobtui import (
    KILL_GRACE_S,
    Context,
    JobType,
    Param,
    Retry,
    Stage,
    Supervised,
    child_env,
    describe_exit,
)
from jobtui.errors import JobtuiError, ParamError, StoreError
from jobtui.model import frozen_reason

from .command_output import Output
from .command_spec import (
    check_template,
    normalize_spec,
    placeholders_in,
    substitute,
    substituter,
)

EX_TEMPFAIL = 75
"""The exit status (sysexits.h) that marks a failure as temporary: retried."""
ENV_STATE_MAX = 64 * 1024
"""Bytes of checkpoint state also passed in `$JOBTUI_STATE` (Linux caps one environment string at 128 KiB)."""
class CommandFailedError(JobtuiError):
    """A command exited non-zero, was killed, or timed out. `transient` decides whether it is retried.

    A jobtui error, so an expected one: the job's error line says it all, with no traceback of jobtui's own frames
    kept or logged (issue 19, item 7).
    """

    def __init__(self, message: str, *, exit_code: int | None, transient: bool, result: dict[str, Any],
                 started: bool = True) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.transient = transient
        self.started = started
        """False when the program could not even be started (then only `transient` decides a retry)."""
        self.result = result
        """Kept with a failed item: exit code, duration, last lines of output."""


_NEVER_STARTS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.ENOTDIR, errno.EISDIR,
                           errno.ELOOP, errno.ENAMETOOLONG})
"""Errors of starting a program that no retry mends (not found, not executable, bad folder); others (a busy
text file, fork failing for want of memory or processes) may pass."""


def cannot_start(what: str, e: OSError) -> CommandFailedError:
    """Return the error of a program that could not be started: permanent when no retry can mend it."""
    return CommandFailedError(f"cannot start {what}: {e.strerror or e}", exit_code=None,
                              transient=e.errno not in _NEVER_STARTS, result={"exit_code": None}, started=False)


# ------------------------------------------------------------------------------------------ specs
def _retry(spec: Mapping[str, Any], *, item: bool) -> Retry:
    """Return the retry policy of a command stage or of each foreach item.

    A command stage retries exit 75 (3 times by default), and every failure once `retries` is set.
    A foreach item retries every failure (3 times at 2, 4, 8 s by default, capped at 30 s), as bulk
    tools do: one flaky file should not need a person; five failing in a row still pause the job.
    """
    explicit = spec.get("retries")
    every = item or explicit is not None

    def retry_on(e: BaseException) -> bool:
        if isinstance(e, CommandFailedError):
            # A program that cannot start (not found, not executable) never will: only a passing cause retries.
            return e.transient or (every and e.started)
        if isinstance(e, OSError):  # a passing fault of the system (fork failed)
            return every
        return False

    return Retry(retries=3 if explicit is None else explicit, base_s=spec["retry_base_s"], cap_s=30.0,
                 retry_on=retry_on)


def _argv(run: str | list[str]) -> list[str]:
    return ["/bin/sh", "-c", run] if isinstance(run, str) else list(run)


def command_line(run: str | list[str]) -> str:
    """Return a command as a person would type it."""
    import shlex

    return run if isinstance(run, str) else shlex.join(run)


def stage_env(ctx: Context, spec: Mapping[str, Any], base: Mapping[str, str] | None = None,
              ) -> tuple[dict[str, str], Path]:
    """Return the environment every command of a stage attempt shares, and the job's workspace.

    Built once per stage attempt (a foreach runs thousands of commands from it): the runner's environment
    minus its secrets (or `base`), the stage's `env`, and the job's, stage's and queue's variables.
    """
    env = child_env() if base is None else dict(base)
    env.update(spec["env"])
    workspace = ctx.workspace
    env.update({
        "JOBTUI_JOB_ID": str(ctx.job_id), "JOBTUI_STAGE": ctx.stage, "JOBTUI_ATTEMPT": str(ctx.attempt),
        "JOBTUI_WORKSPACE": str(workspace),
    })
    # A queue's slot (e.g. the GPU to use); never one inherited from the runner's own environment.
    env.pop("JOBTUI_SLOT", None)
    env.pop("JOBTUI_QUEUE", None)
    if ctx.slot is not None:
        env["JOBTUI_SLOT"] = str(ctx.slot)
    if ctx.queue is not None:
        env["JOBTUI_QUEUE"] = ctx.queue
    return env, workspace


_RUNNER_ENV: list[dict[str, str]] = []
"""The runner's environment minus its secrets, as last built: one object while it does not change, so the fork
server is sent it once, not with every job."""


def _runner_env() -> dict[str, str]:
    env = child_env()
    env.pop("JOBTUI_SLOT", None)  # a queue's slot (stage_env): never one inherited from the runner's own environment
    env.pop("JOBTUI_QUEUE", None)
    if _RUNNER_ENV and _RUNNER_ENV[0] == env:
        return _RUNNER_ENV[0]
    _RUNNER_ENV[:] = [env]
    return env


def _env(ctx: Context, spec: Mapping[str, Any], shared: tuple[dict[str, str], Path] | None = None,
         ) -> tuple[dict[str, str], dict[str, str], tuple[Path, str]]:
    """Return the command's environment as a base and the variables over it, and its state file's folder and text.

    The state is always in the file named by `$JOBTUI_STATE_FILE` (empty before the first
    checkpoint), and also in `$JOBTUI_STATE` when it is at most ENV_STATE_MAX bytes: Linux refuses
    a longer environment string (E2BIG), which made a job with a large checkpoint unrunnable.
    `shared` is the stage's `stage_env` (the base; else the runner's environment is, and the stage's over it).
    """
    if shared is not None:
        base, workspace = shared
        extra: dict[str, str] = {}
    else:
        base = _runner_env()
        extra, workspace = stage_env(ctx, spec, base={})
    state = ctx.state
    text = "" if state is None else json.dumps(state, separators=(",", ":"))
    extra["JOBTUI_IDEMPOTENCY_KEY"] = ctx.idempotency_key
    if len(text) <= ENV_STATE_MAX:
        extra["JOBTUI_STATE"] = text
    else:
        ctx.log(f"checkpoint state of {len(text)} bytes passed in $JOBTUI_STATE_FILE only"
                f" ($JOBTUI_STATE holds at most {ENV_STATE_MAX} bytes)")
        if "JOBTUI_STATE" in base:
            base = {k: v for k, v in base.items() if k != "JOBTUI_STATE"}
    return base, extra, (workspace, text)


async def _settle(futures: Sequence[asyncio.Future[Any]], timeout_s: float) -> bool:
    """Wait up to `timeout_s` for futures to finish; cancel those that do not (never raises their errors).

    Returns whether all finished in time.
    """
    pending = [f for f in futures if not f.done()]
    if not pending:
        return True
    _done, late = await asyncio.wait(pending, timeout=timeout_s)
    for f in late:
        f.cancel()
    return not late


async def _queued(ctx: Context, spawning: Coroutine[Any, Any, Supervised], stop: asyncio.Future[None]) -> Supervised:
    """Wait for a command that waits for a free lane, unless pause, cancel or shutdown comes first (`stop`: it is
    withdrawn, or ended should it have started meanwhile, and Stop raised)."""
    task = asyncio.ensure_future(spawning)
    either: set[asyncio.Future[Any]] = {task, stop}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        try:
            return await task  # it started as the cancel came: supervised as any (the request ends it)
        except (asyncio.CancelledError, OSError):
            pass
        await ctx.checkpoint()  # raises Stop (pause, cancel, shutdown)
        raise asyncio.CancelledError  # pragma: no cover - until_stopped returned without a request
    return task.result()


async def run_command(
    ctx: Context, spec: Mapping[str, Any], argv: Sequence[str], *, slot: str = "", freeze: bool = True,
    shared: tuple[dict[str, str], Path] | None = None, stopped: asyncio.Future[None] | None = None,
) -> dict[str, Any]:
    """Run one command under supervision; return {exit_code, duration_s, output} or raise CommandFailedError.

    Pause: with `freeze` and `pause = "freeze"` the group is stopped (SIGSTOP) and the job held
    paused until resume (SIGCONT); otherwise the group is ended and Stop raised, so the stage runs
    again from its last checkpoint. Cancel, shutdown, timeout and interruption end the whole group,
    and so does a failure of the output reader (the stage then fails with it). `shared`: the stage's
    `stage_env`, made once for all its commands; `stopped`: a waiter for pause, cancel and shutdown that the stage's
    commands share (never cancelled here).
    """
    await ctx.output_count()  # loads what earlier runs logged: the cap holds across resumes and recoveries
    out = Output(ctx, ctx.params.get("output_limit"))
    base, extra, state = _env(ctx, spec, shared)
    spawning = ctx.processes.spawn(argv, cwd=spec.get("cwd"), env=extra, base=base, state=state, slot=slot)
    # One waiter for pause, cancel and shutdown, beside the lane, the exit and the readers: made again only after a
    # freeze was thawed (a task per wait was a third of the runner's futures per command, issue 18).
    own = stopped is None
    stop = asyncio.ensure_future(ctx.until_stopped()) if stopped is None else stopped
    try:
        sup: Supervised = await (_queued(ctx, spawning, stop) if slot and ctx.processes.pooled else spawning)
    except BaseException:
        if own:
            stop.cancel()
        raise
    # When it started (it may have waited for a lane, and ended already by the time this runs).
    started = getattr(sup.proc, "started_at", None) or time.monotonic()
    readers = [asyncio.ensure_future(out.pump(sup.proc.stdout, "stdout")),
               asyncio.ensure_future(out.pump(sup.proc.stderr, "stderr"))]
    grace = float(spec.get("kill_grace_s", KILL_GRACE_S))
    timeout = spec.get("timeout_s")
    frozen_s = 0.0
    timed_out = ended = False
    waiter = sup.exit_future()
    try:
        while not waiter.done():
            if stop.done():
                stop, own = asyncio.ensure_future(ctx.until_stopped()), True
            remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - started - frozen_s))
            watched: set[asyncio.Future[Any]] = {waiter, stop, out.broken}
            finished, _ = await asyncio.wait(watched, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if waiter in finished:
                break
            if stop not in finished:
                timed_out = out.broken not in finished
                ended = True
                await sup.terminate(grace)
                break
            if ctx.request == "pause" and freeze and spec.get("pause", "freeze") == "freeze":
                sup.freeze()
                t0 = time.monotonic()
                await ctx.hold(frozen_reason(sup.pid))
                frozen_s += time.monotonic() - t0
                sup.thaw()
                continue
            ended = True
            await sup.terminate(grace)
            await ctx.checkpoint()  # a safe point: raises Stop for pause (restart), cancel or shutdown
        if not ended:
            await waiter
        await sup.end_stragglers(grace)
        # Bounded: whatever the readers do (a write they wait on, a pipe a stray process holds open),
        # a timeout or an end of the group holds.
        if not await _settle(readers, 10):
            ctx.log("stopped reading the command's output 10 s after it ended (a process it left holds its"
                    " stdout or stderr open)", "warning")
    finally:
        if own:
            stop.cancel()
        if sup.returncode is None or not waiter.done():
            await asyncio.shield(sup.terminate(grace))
        await _settle(readers, 2)
        # Let asyncio finish with the process (its exit and pipe callbacks close the transport): cancelled
        # at once, a loop that ends soon after (a runner stopping) left an unclosed transport behind.
        await _settle([waiter], 2)
        ctx.processes.ended(sup, keep=not slot)
    return _outcome(ctx, out, sup, started=started, frozen_s=frozen_s, timed_out=timed_out, timeout=timeout)


def _outcome(ctx: Context, out: Output, sup: Supervised, *, started: float, frozen_s: float, timed_out: bool,
             timeout: float | None) -> dict[str, Any]:
    """Return an ended command's result {exit_code, duration_s, output}, or raise its CommandFailedError."""
    if out.failure is not None:
        if isinstance(out.failure, StoreError):
            raise out.failure
        raise CommandFailedError(f"reading the command's output failed: {type(out.failure).__name__}:"
                                 f" {str(out.failure)[:300]} (process group ended)", exit_code=sup.returncode,
                                 transient=False, result={"exit_code": sup.returncode})
    code = sup.returncode
    duration = round((getattr(sup.proc, "ended_at", None) or time.monotonic()) - started - frozen_s, 3)
    result = {"exit_code": code, "duration_s": duration, "output": list(out.err_tail or out.tail)[-5:]}
    note = ctx.output_note()
    if note:
        ctx.log(note, "warning")
    if code == 0 and not timed_out:
        return result
    if timed_out:
        message = f"timed out after {timeout:g}s (process group ended)"
        transient = False
    else:
        message = describe_exit(code)
        transient = code == EX_TEMPFAIL
    lines = [ln.strip() for ln in (out.err_tail or out.tail) if ln.strip()][-3:]
    if lines:
        message += "; last output: " + " | ".join(lines)
    raise CommandFailedError(message[:2000], exit_code=code, transient=transient, result=result)


# ----------------------------------------------------------------------------------- stages
def _command_stage(spec: dict[str, Any]) -> Stage:
    async def fn(ctx: Context) -> dict[str, Any]:
        try:
            return await run_command(ctx, spec, _argv(spec["run"]))
        except OSError as e:
            raise cannot_start(command_line(spec["run"])[:200], e) from None

    fn.__name__ = spec["name"]
    return Stage(fn, spec["name"], _retry(spec, item=False), description=command_line(spec["run"])[:200])


def _foreach_stage(spec: dict[str, Any]) -> Stage:
    index_of = {item: i for i, item in enumerate(spec["items"])}
    template = list(spec["run"])
    fill = substituter(template)

    async def fn(ctx: Context) -> dict[str, Any]:
        shared = stage_env(ctx, spec)

        async def one(item: str) -> dict[str, Any]:
            argv = fill(item, index_of[item])
            try:
                return await run_command(ctx, spec, argv, slot=item, freeze=False, shared=shared, stopped=stopped)
            except OSError as e:
                raise cannot_start(argv[0], e) from None

        done = failed = 0
        # In lanes the fork servers hold, the next command of each lane waits there: twice as many items at once.
        workers = spec["workers"] * 2 if ctx.processes.use_lanes(spec["workers"]) else spec["workers"]
        # One waiter for pause, cancel and shutdown that every command of the stage watches (a task each before).
        stopped: asyncio.Future[None] = asyncio.ensure_future(ctx.until_stopped())
        try:
            async for o in ctx.items(spec["items"], one, workers=workers, retry=_retry(spec, item=True),
                                     allow_failures=spec.get("allow_failures")):
                done += o.ok
                failed += not o.ok
        finally:
            stopped.cancel()
            ctx.processes.close()  # the lanes' rows: every item's command has ended
        return {"items": len(spec["items"]), "ran": done + failed, "failed_now": failed}

    fn.__name__ = spec["name"]
    return Stage(fn, spec["name"], Retry(retries=0), description=f"foreach: {command_line(template)[:180]}")


def build_stages(params: Mapping[str, Any], *, foreach: bool = False) -> list[Stage]:
    """Return the stages of a command job from its params.

    Raises:
        ParamError: the stage specs are not valid.
    """
    raw = params.get("stages")
    if not isinstance(raw, list) or not raw:
        raise ParamError("a command job needs stages: a non-empty list of {name, run, ...}")
    specs = [normalize_spec(r, f"stage {i + 1}", foreach=foreach) for i, r in enumerate(raw)]
    names = [s["name"] for s in specs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ParamError(f"two stages are named {dup!r}")
    return [_foreach_stage(s) if foreach else _command_stage(s) for s in specs]


def _params(extra: Mapping[str, Param] | None = None) -> dict[str, Param]:
    out = {
        "stages": Param(list, help="stage specs: [{name, run, cwd, env, timeout_s, retries, pause}]"),
        "name": Param(str, default="", help="a name to show"),
        "output_limit": Param(int, default=None, min=0, help="bytes of output logged per job (default 8 MiB)"),
    }
    out.update(extra or {})
    return out


def _from(foreach: bool) -> Callable[[Mapping[str, Any]], Sequence[Stage]]:
    def build(params: Mapping[str, Any]) -> Sequence[Stage]:
        return build_stages(params, foreach=foreach)

    return build


command = JobType(
    "command", [], params=_params(), stages_from=_from(False),
    description="one command (jobtui add -- CMD ...)",
)
pipeline = JobType(
    "pipeline", [], params=_params({"file": Param(str, default="", help="the TOML file it came from")}),
    stages_from=_from(False), description="commands in order, from a TOML file (jobtui add --pipeline F)",
)
foreach = JobType(
    "foreach", [], params=_params(), stages_from=_from(True), auto_pause_after=5,
    description="one command per file, line or argument (jobtui foreach ...)",
)

__all__ = [
    "EX_TEMPFAIL", "CommandFailedError", "build_stages", "check_template", "command", "command_line", "foreach",
    "normalize_spec", "pipeline", "placeholders_in", "run_command", "substitute",
]
