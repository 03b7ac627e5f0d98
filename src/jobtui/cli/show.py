"""`jobtui show`: one job with its stages, outputs, history and tracebacks."""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from typing import Any

from ..client import Client
from ..model import JobDetail, JobStatus, RequestRecord, StageStatus, iso, redact, waiting_reason
from ..outcome import process_state, tolerated
from ..redaction import Secrets
from ..wording import duration
from .columns import command_specs, command_text
from .commands import command, table
from .deps import refs_text
from .fleet import WORKSPACE_NOTE, needs_lines
from .labels import label_lines
from .notify import notify_lines
from .parse import parse_id
from .queue import queue_lines

STDERR_LINES = 5
"""How many of a command job's last stderr lines `show` prints (all of them: `jobtui logs ID`)."""


def _show_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true", help="the job detail object")
    sp.add_argument("--env", action="store_true",
                    help="a command job's whole environment (secrets redacted); without it, only the names")


@command("show", "show one job with its stages", args=_show_args, order=22, reads=True)
async def cmd_show(client: Client, a: argparse.Namespace) -> int:
    """Print one job's detail (a command job's compactly: command line, cwd, exit status, last stderr lines)."""
    job_id = parse_id(a.id)
    d = await client.detail(job_id)
    secrets = Secrets.of(d.job.params)
    history = await client.history(job_id)
    if a.json:
        out = d.to_dict()
        out["attempt_errors"] = [redact(e.to_dict(d.job.stage_names), secrets) for e in await client.attempt_errors(job_id)]
        out["history"] = [redact(h.to_dict(), secrets) for h in history]
        print(json.dumps(out, indent=2))
        return 0
    j = d.job
    shown = d.to_dict()  # the redacted fields
    print(f"job {j.job_id}  {j.type}  {j.status.value}")
    print(f"  progress   {j.progress * 100:.0f}%  stage {min(j.current_step_index + 1, j.total_steps)}/{j.total_steps}"
          f" {j.current_step or ''}  {shown['progress_message'] or ''}".rstrip())
    lines = await _command_lines(client, d, shown, whole_env=a.env) if command_specs(j.params) else \
        [f"  params     {json.dumps(shown['params'])}"]
    lines += await _relations(client, d)
    lines += _state(d, shown)
    lines += _stages(d, secrets)
    lines += _outputs_and_history(d, history, secrets)
    lines += _tracebacks(d, secrets)
    lines += notify_lines(d)
    lines += _files(client, d)
    print("\n".join(lines))
    return 0


async def _command_lines(client: Client, d: JobDetail, shown: dict[str, Any], *, whole_env: bool) -> list[str]:
    """Return a command job's lines: what it runs (and ran: pid, exit status), where, its environment, its last stderr."""
    j = d.job
    lines: list[str] = []
    for proc in shown.get("processes", []):
        if proc["slot"] == "":
            state = process_state(proc, j)
            lines.append(f"  command    {shlex.join(proc['argv'])}  (stage {proc['stage_index'] + 1}, pid {proc['pid']},"
                         f" {state})")
            if proc["cwd"]:
                lines.append(f"  cwd        {proc['cwd']}")
    specs = command_specs(shown["params"])
    if not lines:
        lines.append(f"  command    {command_text(j.params)}")
        if specs and specs[0].get("cwd"):
            lines.append(f"  cwd        {specs[0]['cwd']}")
    env: dict[str, Any] = {k: v for s in specs if isinstance(s.get("env"), dict) for k, v in s["env"].items()}
    if whole_env:
        lines.append("  env" + "".join(f"\n    {k}={v}" for k, v in sorted(env.items())))
    elif env:
        lines.append(f"  env        {', '.join(sorted(env))}  (the values: `show --env`)")
    secrets = Secrets.of(j.params)
    stderr = [ln for ln in await client.logs(j.job_id, tail=True, limit=500) if ln.level == "stderr"][-STDERR_LINES:]
    if stderr:
        lines.append(f"  stderr     (the last {len(stderr)} lines; all in `jobtui logs {j.job_id}`)")
        lines += [f"    {redact(ln.message, secrets)}" for ln in stderr]
    return lines


async def _relations(client: Client, d: JobDetail) -> list[str]:
    """Return the lines on what a job waits for, needs, is labelled with and belongs to."""
    j = d.job
    lines = [f"  blocked    {waiting_reason(d.waiting_on)}"] if d.waiting_on and j.status is JobStatus.BLOCKED else []
    lines += await needs_lines(client, d)
    lines += label_lines(d.labels)
    lines += queue_lines(j)
    if d.depends_on:
        lines.append(f"  after      {refs_text(d.depends_on)}")
    if d.dependents:
        lines.append(f"  dependents {refs_text(d.dependents)}")
    return lines


def _state(d: JobDetail, shown: dict[str, Any]) -> list[str]:
    """Return the lines on why a job paused or failed, its counters and its times."""
    j = d.job
    lines = [f"  {label}{value}" for label, value in (
        ("pause      ", shown["pause_reason"]), ("failed at  ", j.failed_step), ("error      ", shown["error_message"]),
        ("tolerated  ", tolerated(d)),
        ("next retry ", iso(j.next_retry_at_ms)), ("run at     ", iso(j.run_at_ms)), ("unique key ", shown["unique_key"]),
    ) if value]
    lines.append(f"  job retries {j.retry_count}/{j.max_retries}   resumes {j.resume_count}   recoveries"
                 f" {j.recovery_count}   priority {j.priority}   consecutive item failures {j.consecutive_failures}")
    if j.timeout_ms is not None:
        lines.append(f"  timeout    {duration(j.timeout_ms)} per run")
    lines.append(f"  created    {iso(j.created_at_ms)}   started {iso(j.started_at_ms) or '-'}"
                 f"   updated {iso(j.updated_at_ms)}")
    return lines


def _stages(d: JobDetail, secrets: Secrets) -> list[str]:
    """Return the table of a job's stages."""
    rows = [["#", "NAME", "STATUS", "STAGE TRY", "RUNS", "FAILURES", "ITEMS", "DURATION", "ERROR"]]
    for s in d.stages:
        items = "" if s.items_total is None and not s.items_done else \
            f"{s.items_done}/{s.items_total if s.items_total is not None else '?'}"
        if s.items_failed:
            items += f" ({s.items_failed} failed)"
        dur = "" if s.duration_ms is None else f"{s.duration_ms / 1000:.1f}s"
        rows.append([str(s.index + 1), s.name, s.status.value, f"{s.attempts}/{s.max_attempts}" if s.attempts else "-",
                     str(s.runs) if s.runs else "-", str(s.failures) if s.failures else "-",
                     items, dur, redact(s.error or "", secrets)[:60]])
    return ["  stages", *("    " + line for line in table(rows).splitlines())]


def _outputs_and_history(d: JobDetail, history: Sequence[RequestRecord], secrets: Secrets) -> list[str]:
    """Return the lines of the stages' outputs and of the requests people made."""
    lines: list[str] = []
    outputs = [s for s in d.stages if s.status is StageStatus.COMPLETED and s.output is not None]
    if outputs:
        lines.append("  outputs    (whole in `show --json`)")
        lines += [f"    {s.name}: {output_text(redact(s.output, secrets))}" for s in outputs]
    shown_history = [h for h in history if h.action != "submit"]
    if shown_history:
        lines.append("  history")
        for h in shown_history:
            why = f"  ({redact(h.detail, secrets)})" if h.detail else ""
            lines.append(f"    {iso(h.ts_ms)}  {h.action:<8} {h.from_status} → {h.to_status}  by {h.source}{why}")
    return lines


def _tracebacks(d: JobDetail, secrets: Secrets) -> list[str]:
    """Return the tracebacks of stages that raised unexpectedly; a command's non-zero exit is its error line alone."""
    lines: list[str] = []
    for s in d.stages:
        if s.traceback and not (s.error or "").startswith("CommandFailedError"):
            lines.append(f"  traceback of {s.name}")
            lines += ["    " + line for line in str(redact(s.traceback, secrets)).splitlines()]
    return lines


def _files(client: Client, d: JobDetail) -> list[str]:
    """Return the lines of a job's kept files and its workspace."""
    lines = ["  files", *(f"    {f.path}  {f.size} bytes  sha256 {f.sha256[:16]}" for f in d.files)] if d.files else []
    if d.files or d.needs or client.workspace(d.job.job_id).exists():
        lines += [f"  workspace  {client.workspace(d.job.job_id)}", f"             {WORKSPACE_NOTE}"]
    return lines


def output_text(value: Any, limit: int = 200) -> str:
    """Return a stage output as one line of JSON, shortened to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
