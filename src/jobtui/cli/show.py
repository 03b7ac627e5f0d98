"""`jobtui show`: one job with its stages, outputs, history and tracebacks."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from ..client import Client
from ..model import JobStatus, StageStatus, iso, redact, waiting_reason
from ..outcome import process_state, tolerated
from ..redaction import Secrets
from ..wording import duration
from .commands import command, table
from .deps import refs_text
from .fleet import WORKSPACE_NOTE, needs_lines
from .labels import label_lines
from .notify import notify_lines
from .parse import parse_id
from .queue import queue_lines


# ---------------------------------------------------------------------------------------------- show
def _show_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true", help="the job detail object")


@command("show", "show one job with its stages", args=_show_args, order=22, reads=True)
async def cmd_show(client: Client, a: argparse.Namespace) -> int:
    """Print one job's detail."""
    job_id = parse_id(a.id)
    d = await client.detail(job_id)
    secrets = Secrets.of(d.job.params)
    errors = await client.attempt_errors(job_id)
    history = await client.history(job_id)
    if a.json:
        out = d.to_dict()
        out["attempt_errors"] = [redact(e.to_dict(d.job.stage_names), secrets) for e in errors]
        out["history"] = [redact(h.to_dict(), secrets) for h in history]
        print(json.dumps(out, indent=2))
        return 0
    j = d.job
    shown = d.to_dict()  # the redacted fields
    print(f"job {j.job_id}  {j.type}  {j.status.value}")
    print(f"  progress   {j.progress * 100:.0f}%  stage {min(j.current_step_index + 1, j.total_steps)}/{j.total_steps}"
          f" {j.current_step or ''}  {shown['progress_message'] or ''}".rstrip())
    print(f"  params     {json.dumps(shown['params'])}")
    for proc in shown.get("processes", []):
        if proc["slot"] == "":
            state = process_state(proc, j)
            print(f"  command    {shlex.join(proc['argv'])}  (stage {proc['stage_index'] + 1}, pid {proc['pid']}, {state})")
            if proc["cwd"]:
                print(f"  cwd        {proc['cwd']}")
    if d.waiting_on and j.status is JobStatus.BLOCKED:
        print(f"  blocked    {waiting_reason(d.waiting_on)}")
    for line in await needs_lines(client, d):
        print(line)
    for line in label_lines(d.labels):
        print(line)
    for line in queue_lines(j):
        print(line)
    if d.depends_on:
        print(f"  after      {refs_text(d.depends_on)}")
    if d.dependents:
        print(f"  dependents {refs_text(d.dependents)}")
    for label, value in (
        ("pause      ", shown["pause_reason"]), ("failed at  ", j.failed_step), ("error      ", shown["error_message"]),
        ("tolerated  ", tolerated(d)),
        ("next retry ", iso(j.next_retry_at_ms)), ("run at     ", iso(j.run_at_ms)), ("unique key ", shown["unique_key"]),
    ):
        if value:
            print(f"  {label}{value}")
    print(f"  job retries {j.retry_count}/{j.max_retries}   resumes {j.resume_count}   recoveries {j.recovery_count}"
          f"   priority {j.priority}   consecutive item failures {j.consecutive_failures}")
    if j.timeout_ms is not None:
        print(f"  timeout    {duration(j.timeout_ms)} per run")
    print(f"  created    {iso(j.created_at_ms)}   started {iso(j.started_at_ms) or '-'}   updated {iso(j.updated_at_ms)}")
    print("  stages")
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
    print("\n".join("    " + line for line in table(rows).splitlines()))
    secrets = Secrets.of(j.params)
    outputs = [s for s in d.stages if s.status is StageStatus.COMPLETED and s.output is not None]
    if outputs:
        print("  outputs    (whole in `show --json`)")
        for s in outputs:
            print(f"    {s.name}: {output_text(redact(s.output, secrets))}")
    shown_history = [h for h in history if h.action != "submit"]
    if shown_history:
        print("  history")
        for h in shown_history:
            why = f"  ({redact(h.detail, secrets)})" if h.detail else ""
            print(f"    {iso(h.ts_ms)}  {h.action:<8} {h.from_status} → {h.to_status}  by {h.source}{why}")
    for s in d.stages:
        if s.traceback:
            print(f"  traceback of {s.name}")
            print("\n".join("    " + line for line in str(redact(s.traceback, secrets)).splitlines()))
    for line in notify_lines(d):
        print(line)
    if d.files:
        print("  files")
        for f in d.files:
            print(f"    {f.path}  {f.size} bytes  sha256 {f.sha256[:16]}")
    if d.files or d.needs or client.workspace(j.job_id).exists():
        print(f"  workspace  {client.workspace(j.job_id)}")
        print(f"             {WORKSPACE_NOTE}")
    return 0


def output_text(value: Any, limit: int = 200) -> str:
    """Return a stage output as one line of JSON, shortened to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
