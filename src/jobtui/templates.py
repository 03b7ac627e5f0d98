"""Job templates (issue 21 item 4): a saved job type, params and options, submitted again by name; pure, no I/O.

`jobtui template save NAME TYPE [-p ...]` (or `--from-job ID`) stores one; `submit --template NAME [-p ...]`
queues a job of it, the params given on the command line set over the template's, and each option given
there (priority, retries, timeout, needs, queue, notify targets) taking the place of the template's
(labels are merged). A schedule may name a template: each job it fires is made of the template as it is then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .model import iso
from .redaction import Secrets, redact, redact_command

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
OPTION_KEYS = ("priority", "max_retries", "timeout_ms", "needs", "labels", "queue", "notify", "notify_on", "unique_key")
"""What a template may hold beside its type and params: options as `submit` takes them."""


def check_template_name(name: str) -> str:
    """Return a template name, checked (UsageError: not 1-64 letters, digits, '.', '_', '-')."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(f"bad template name {str(name)[:80]!r} (1-64 letters, digits, '.', '_', '-'; starting with a"
                         " letter or digit)")
    return name


@dataclass(frozen=True, slots=True)
class Template:
    """A saved job: its type, params and options."""

    name: str
    job_type: str
    params: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    """Any of OPTION_KEYS: priority, max_retries, timeout_ms, needs (list), labels (object), queue, notify
    ([[kind, target], ...]), unique_key."""
    created_at_ms: int = 0
    updated_at_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the template as `template show --json` prints it (secrets redacted)."""
        options = dict(self.options)
        if options.get("notify"):
            options["notify"] = [[k, redact_command(t)] for k, t in options["notify"]]
        return {"name": self.name, "type": self.job_type, "params": redact(self.params, Secrets.of(self.params)),
                "options": options, "created_at": iso(self.created_at_ms), "updated_at": iso(self.updated_at_ms)}


def submission_options(template: Template, given: Mapping[str, Any]) -> dict[str, Any]:
    """Return a submission's options: each one `given` (not None, not empty) over the template's; labels merged.

    `given` uses the names of `jobtui.client.Submission` (priority, max_retries, timeout_ms, needs, labels, queue,
    notify, unique_key, run_at_ms, after).
    """
    o = template.options
    out: dict[str, Any] = {
        "priority": o.get("priority", 0), "max_retries": o.get("max_retries"), "timeout_ms": o.get("timeout_ms"),
        "needs": tuple(o.get("needs") or ()), "queue": o.get("queue"), "unique_key": o.get("unique_key"),
        "notify": tuple((str(k), str(t)) for k, t in o.get("notify") or ()),
        "notify_on": tuple(str(e) for e in o.get("notify_on") or ()),
        "labels": {**dict(o.get("labels") or {}), **dict(given.get("labels") or {})},
    }
    for key, value in given.items():
        if key == "labels":
            continue
        if value is not None and value != () and value != []:
            out[key] = value
    return out
