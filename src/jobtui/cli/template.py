"""Job templates: `jobtui template save|ls|show|rm`, and `submit --template NAME` (issue 21 item 4)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..client import Client
from ..errors import UsageError
from ..labels import labels_text
from ..model import iso
from ..redaction import Secrets, redact, redact_command
from ..templates import submission_options
from .commands import command, table
from .fleet import add_needs_option, parse_needs
from .labels import add_label_option, parse_labels
from .notify import add_notify_options, parse_notify, parse_notify_on
from .parse import int_arg, params_of, parse_duration_ms, parse_id
from .queue import add_queue_option, parse_queue


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let --db, --db-file and --app follow the action too, as they may follow any command."""
    p.add_argument("--db", default=argparse.SUPPRESS, help="database file or postgresql:// URL")
    p.add_argument("--db-file", default=argparse.SUPPRESS, metavar="PATH",
                   help="read the database URL (or path) from the first line of PATH")
    p.add_argument("--app", action="append", default=argparse.SUPPRESS, metavar="MODULE",
                   help="import job types from MODULE (repeatable; also $JOBTUI_APP)")
    return p


def _args(sp: argparse.ArgumentParser) -> None:
    sub = sp.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    save = _common(sub.add_parser("save", help="save a job type with params and options (or a job's) under a name",
                                  description="save a template: jobtui template save NAME (TYPE | --from-job ID)"
                                              " [-p k=v ...] [options]"))
    save.add_argument("name", help="a name for the template (letters, digits, '.', '_', '-')")
    save.add_argument("type", nargs="?", help="job type (see `jobtui types`)")
    save.add_argument("--from-job", metavar="ID", help="copy a job's type, params and options")
    save.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="a param (repeatable)")
    save.add_argument("--params-json", metavar="JSON", help="params as one JSON object")
    save.add_argument("--priority", type=int_arg("--priority", -1_000_000, 1_000_000), default=None)
    save.add_argument("--max-retries", type=int_arg("--max-retries", 0, 1_000_000), default=None)
    save.add_argument("--timeout", metavar="DURATION", help="limit each run of a job (e.g. 30m)")
    save.add_argument("--replace", action="store_true", help="overwrite a template of this name")
    add_needs_option(save)
    add_label_option(save)
    add_queue_option(save)
    add_notify_options(save)
    ls = _common(sub.add_parser("ls", help="list templates"))
    ls.add_argument("--json", action="store_true")
    show = _common(sub.add_parser("show", help="one template: type, params (secrets redacted), options"))
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    rm = _common(sub.add_parser("rm", help="delete a template (jobs made of it stay)"))
    rm.add_argument("name")



async def from_template(client: Client, a: argparse.Namespace, params: dict[str, Any],
                        opts: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Return `submit`'s type, params and options: the template's under what was given (`--template`), or as given."""
    if a.template is None:
        if a.type is None:
            raise UsageError("submit needs a job TYPE (see `jobtui types`) or --template NAME")
        return a.type, params, opts
    if a.type is not None:
        raise UsageError("give a job TYPE or --template NAME, not both")
    t = await client.template(a.template)
    out = submission_options(t, {**opts, "priority": a.priority, "unique_key": a.unique_key})
    a.unique_key = out.pop("unique_key")
    return t.job_type, {**t.params, **params}, out


def _show(t: Any) -> list[str]:
    d = t.to_dict()
    o = t.options
    lines = [f"template {t.name}  {t.job_type}", f"  params     {json.dumps(d['params'])}"]
    for label, value in (("priority", o.get("priority")), ("max retries", o.get("max_retries")),
                         ("timeout", None if o.get("timeout_ms") is None else f"{o['timeout_ms'] / 1000:g}s"),
                         ("needs", ", ".join(o.get("needs") or ())), ("queue", o.get("queue")),
                         ("labels", labels_text(tuple(sorted((o.get("labels") or {}).items()))))):
        if value not in (None, ""):
            lines.append(f"  {label:<10} {value}")
    for kind, target in o.get("notify") or ():
        lines.append(f"  notify     {kind} {redact_command(target)}")
    lines.append(f"  saved      {iso(t.updated_at_ms)}")
    return lines


@command("template", "saved jobs: template save|ls|show|rm; submit --template NAME", args=_args, order=26)
async def cmd_template(client: Client, a: argparse.Namespace) -> int:
    """Manage job templates."""
    action = a.template_command
    if action == "save":
        timeout_ms = None
        if a.timeout is not None:
            timeout_ms = parse_duration_ms(a.timeout)
            if timeout_ms <= 0:
                raise UsageError("--timeout must be more than 0")
        t = await client.save_template(
            a.name, a.type, params_of(a), from_job=None if a.from_job is None else parse_id(a.from_job),
            replace=a.replace, priority=a.priority, max_retries=a.max_retries, timeout_ms=timeout_ms,
            needs=list(parse_needs(a)), labels=dict(parse_labels(a)), queue=parse_queue(a),
            notify=[list(n) for n in parse_notify(a)], notify_on=list(parse_notify_on(a)),
        )
        print(f"template {t.name}: {t.job_type} (jobtui submit --template {t.name})")
        return 0
    if action == "ls":
        templates = await client.templates()
        if a.json:
            print(json.dumps([t.to_dict() for t in templates], indent=2))
            return 0
        if not templates:
            print("no templates (save one: jobtui template save NAME TYPE -p k=v)")
            return 0
        rows = [["NAME", "TYPE", "PARAMS", "SAVED"]]
        for t in templates:
            shown = json.dumps(redact(t.params, Secrets.of(t.params)))
            rows.append([t.name, t.job_type, shown if len(shown) <= 50 else shown[:49] + "…", iso(t.updated_at_ms) or ""])
        print(table(rows))
        return 0
    if action == "show":
        t = await client.template(a.name)
        print(json.dumps(t.to_dict(), indent=2) if a.json else "\n".join(_show(t)))
        return 0
    await client.remove_template(a.name)
    print(f"template {a.name}: removed")
    return 0
