"""The new-job form's fields for command jobs: one command, a pipeline file, or a command for each item.

The form fills the same options `jobtui add` / `jobtui foreach` parse (`command_args`) and builds the job with
the same builders (`build_add`, `build_foreach`), so a job queued here is the job the CLI would queue.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from ..errors import UsageError
from ..jobs.command_params import build_add, build_foreach, command_args
from .ordered_input import OrderedInput

COMMAND_KINDS = ("command", "pipeline", "foreach")
"""The job types whose stages come from the form's command fields rather than from typed params."""

LABELS = {"command": "command: one command", "pipeline": "pipeline: a TOML file", "foreach": "foreach: per item"}
"""How the type chooser names the command kinds."""

HELP = {
    "command": "Run one command line: split like a shell would (quotes work), run without a shell unless "
               "'shell' is on. Same as: jobtui add -- CMD ARG...",
    "pipeline": "Queue the [[stage]] commands of a TOML file, in order. Same as: jobtui add --pipeline FILE.toml",
    "foreach": "Run the command once per item: {} {name} {stem} {ext} {dir} {index} are replaced, each as one "
               "argument. Same as: jobtui foreach --glob/--lines/--args -- CMD {}",
}

SOURCES = (("glob", "glob (files)"), ("lines", "lines of a file"), ("args", "arguments"))
ITEMS_HINT = {"glob": "e.g. *.csv or data/**/*.json", "lines": "a file with one item per line",
              "args": "items, separated by spaces (quotes work)"}


@dataclass(frozen=True)
class FieldSpec:
    """One row of the form: its key, label, the widget's kind, its start value, a hint and a note."""

    key: str
    label: str
    kind: str = "input"  # input | check | source
    value: str = ""
    placeholder: str = ""
    note: str = ""
    wide: bool = False


def field_specs(kind: str, cwd: str) -> list[FieldSpec]:
    """Return the rows of the form for one command kind."""
    folder = FieldSpec("cwd", "folder", value=cwd, note="runs here", wide=True)
    env = FieldSpec("env", "env", placeholder="K=V K2=V2 (K alone: your value)", note="optional", wide=True)
    timeout = FieldSpec("timeout", "timeout", placeholder="none (e.g. 90s, 10m, 2h)", note="optional")
    retries = FieldSpec("retries", "retries", placeholder="default: exit 75 only", note="re-runs on failure")
    if kind == "command":
        return [FieldSpec("run", "command *", placeholder="e.g. rsync -a src/ backup/", wide=True),
                FieldSpec("shell", "shell", kind="check", note="run it with /bin/sh -c (pipes, $VARS, globs)"),
                folder, env, timeout, retries]
    if kind == "pipeline":
        return [FieldSpec("file", "file *", placeholder="path/to/pipeline.toml", wide=True),
                FieldSpec("cwd", "folder", value=cwd, note="for stages without cwd", wide=True), env]
    return [FieldSpec("source", "items from", kind="source"),
            FieldSpec("items", "items *", placeholder=ITEMS_HINT["glob"], wide=True),
            FieldSpec("run", "command *", placeholder="e.g. gzip -k {}", wide=True),
            FieldSpec("workers", "workers", value="1", note="items run at once"),
            folder, env, timeout,
            # A foreach item retries any failure, 3 times by default (issue 15, item 5: it said "exit 75 only").
            FieldSpec("retries", "retries", placeholder="default: 3, any failure", note="re-runs of an item")]


def build_rows(kind: str, cwd: str | None = None) -> tuple[list[Widget], dict[str, Input | Checkbox | Select[str]]]:
    """Return the form rows for `kind` and its fields by key."""
    fields: dict[str, Input | Checkbox | Select[str]] = {}
    rows: list[Widget] = []
    for spec in field_specs(kind, cwd if cwd is not None else os.getcwd()):
        field: Input | Checkbox | Select[str]
        if spec.kind == "check":
            field = Checkbox(spec.note, id=f"cmd-{spec.key}", compact=True)
        elif spec.kind == "source":
            field = Select([(Text(what), k) for k, what in SOURCES], value="glob", allow_blank=False,
                           id=f"cmd-{spec.key}", compact=True)
        else:
            field = OrderedInput(spec.value, placeholder=spec.placeholder, id=f"cmd-{spec.key}", compact=True,
                          classes="wide" if spec.wide else "")
        fields[spec.key] = field
        children: list[Widget] = [Label(Text(spec.label), classes="form-label"), field]
        if spec.note and spec.kind == "input" and not spec.wide:
            children.append(Static(Text(spec.note), classes="help field-help"))
        rows.append(Horizontal(*children, classes="form-row"))
    return rows, fields


def _text(fields: dict[str, Input | Checkbox | Select[str]], key: str) -> str:
    field = fields.get(key)
    return field.value.strip() if isinstance(field, Input) else ""


def _split(text: str, what: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as e:
        raise UsageError(f"{what}: {e} (close the quote, or put a \\ before it)") from None


def _int(text: str, what: str) -> int | None:
    if not text:
        return None
    try:
        if not text.isascii() or len(text) > 19:  # int() also reads '٣' as 3
            raise ValueError(text)
        return int(text)
    except ValueError:
        raise UsageError(f"{what} must be a whole number, not {text!r}") from None


def form_args(kind: str, fields: dict[str, Input | Checkbox | Select[str]]) -> argparse.Namespace:
    """Return the `add`/`foreach` options the form's fields say (UsageError when a field cannot be read)."""
    env = _split(_text(fields, "env"), "env") or None
    common: dict[str, Any] = {"cwd": _text(fields, "cwd") or None, "env": env}
    if kind == "pipeline":
        return command_args(pipeline=_text(fields, "file") or None, **common)
    common |= {"timeout": _text(fields, "timeout") or None, "retries": _int(_text(fields, "retries"), "retries")}
    run = _text(fields, "run")
    if kind == "command":
        shell = fields.get("shell")
        if isinstance(shell, Checkbox) and shell.value:
            return command_args(shell=run, **common)
        return command_args(argv=_split(run, "command"), **common)
    source = fields.get("source")
    chosen = source.value if isinstance(source, Select) and isinstance(source.value, str) else "glob"
    items = _text(fields, "items")
    if not items:
        need = {"glob": "give a glob pattern, e.g. *.csv", "lines": "give the path of a file with one item per line",
                "args": "give at least one item"}
        raise UsageError(f"no items: {need[chosen]}")
    given: dict[str, object] = {}
    if chosen == "glob":
        given["glob"] = items
    elif chosen == "lines":
        if items == "-":
            raise UsageError("lines file '-' (standard input) works only on the command line: give a file")
        given["lines"] = items
    else:
        given["args"] = _split(items, "items")
    workers = _int(_text(fields, "workers"), "workers")
    return command_args(argv=_split(run, "command"), workers=1 if workers is None else workers, **given, **common)


def build_job(kind: str, fields: dict[str, Input | Checkbox | Select[str]]) -> tuple[str, dict[str, object]]:
    """Return the job type and params the form's fields make, as the CLI builds them.

    Raises:
        UsageError: what is wrong (nothing is queued).
    """
    a = form_args(kind, fields)
    if kind == "pipeline" and not a.pipeline:
        raise UsageError("give the path of a pipeline file (.toml)")
    if kind == "foreach":
        return build_foreach(a)
    if kind == "command" and not a.argv and a.shell is None:
        raise UsageError("empty command: type the command line to run")
    return build_add(a)


def one_line(message: str) -> str:
    """Return an error message on one line (TOML errors and paths can carry newlines)."""
    return " ".join(message.split())


__all__ = ["COMMAND_KINDS", "HELP", "ITEMS_HINT", "LABELS", "build_job", "build_rows", "field_specs", "form_args", "one_line"]
