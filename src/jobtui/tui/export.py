"""The TUI's `e`: the highlighted job's item results as JSON lines, handed to Textual's `deliver_text`.

In a terminal Textual saves the file (to $JOBTUI_EXPORT_DIR, else the Downloads folder); in a browser (`jobtui web`)
the same call starts a download. Secrets of the job's params are redacted, as `jobtui export` does."""

from __future__ import annotations

import io
import json
import os
from typing import Any

from textual import events
from textual.app import App

from ..client import Client
from ..errors import JobtuiError
from ..model import Job, iso, redact
from ..redaction import Secrets

PREFIX = "jobtui-export:"
"""The delivery name of an export (`DeliveryComplete.name`): PREFIX + job id + ':' + item count."""


async def deliver_export(app: App[Any], client: Client, job: Job) -> None:
    """Read the job's items and deliver them as `jobtui-job-ID-items.jsonl`."""
    secrets = Secrets.of(job.params)
    try:
        lines = [json.dumps({"stage": item.stage, "key": redact(item.key, secrets), "status": item.status.value,
                             "result": redact(item.result, secrets), "error": redact(item.error, secrets),
                             "attempts": item.attempts, "updated_at": iso(item.updated_at_ms)}) + "\n"
                 async for item in client.export(job.job_id)]
    except JobtuiError as e:
        app.notify(f"Export of job {job.job_id} failed: {e}", severity="error")
        return
    # deliver_text, not deliver_binary: Textual 8.2.8's terminal driver writes a binary file object in text mode
    # (isinstance(f, typing.BinaryIO) is false for real files) and fails; text goes through both drivers.
    app.deliver_text(io.StringIO("".join(lines)), save_directory=os.environ.get("JOBTUI_EXPORT_DIR") or None,
                       save_filename=f"jobtui-job-{job.job_id}-items.jsonl", mime_type="application/x-ndjson",
                       name=f"{PREFIX}{job.job_id}:{len(lines)}")


def delivered(app: App[Any], event: events.DeliveryComplete | events.DeliveryFailed) -> None:
    """Tell the user where an export went (or that it failed); other deliveries are Textual's own."""
    if not (event.name or "").startswith(PREFIX):
        return
    job_id, count = (event.name or "")[len(PREFIX):].split(":")
    if isinstance(event, events.DeliveryFailed):
        app.notify(f"Export of job {job_id} failed: {event.exception}", severity="error")
    elif event.path is None:
        app.notify(f"Job {job_id}: {count} item(s) sent to the browser's downloads")
    else:
        app.notify(f"Job {job_id}: {count} item(s) exported to {event.path}")
