"""`jobtui export`: a job's item results or stage outputs as JSON lines or CSV."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from pathlib import Path

from ..client import Client
from ..errors import UsageError
from ..model import iso, redact
from ..printable import PrintableStream
from ..redaction import Secrets
from .commands import command
from .parse import parse_id


# -------------------------------------------------------------------------------------------- export
def _refuse_database_files(client: Client, output: str) -> None:
    """Refuse an output path that is the database or one of its -wal/-shm/-journal files (symlinks resolved).

    `export 1 -o jobs.db` truncated the database to 0 bytes before writing a line.
    """
    if not client.is_file_db:
        return
    target = Path(output).expanduser().resolve()
    db = client.db_path.resolve()
    if target in {db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))}:
        raise UsageError(f"cannot export to {output}: it is the job database (or its journal), choose another file")


def _export_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id")
    sp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sp.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    sp.add_argument("--stages", action="store_true",
                    help="write each stage's output (its return value) instead of the item results")


@command("export", "write a job's item results (or, with --stages, its stage outputs)", args=_export_args, order=43, reads=True)
async def cmd_export(client: Client, a: argparse.Namespace) -> int:
    """Write a job's item results (or stage outputs) as JSON lines or CSV."""
    job_id = parse_id(a.id)
    job = await client.job(job_id)
    secrets = Secrets.of(job.params)
    out: io.TextIOBase
    if a.output and a.output != "-":
        _refuse_database_files(client, a.output)
        try:
            # The CLI's event loop serves this one command (no TUI, no runner): a blocking open is fine.
            out = open(a.output, "w", newline="")  # noqa: SIM115, ASYNC230 - closed below
        except OSError as e:
            raise UsageError(f"cannot write {a.output}: {e.strerror or e}") from None
        if a.format == "csv":  # for people and spreadsheets: escapes shown, as on stdout (JSON lines stay exact)
            out = PrintableStream(out)  # type: ignore[assignment]
    else:
        out = sys.stdout  # type: ignore[assignment]
    count = 0
    per_item = a.format == "csv" and job.type == "foreach"
    try:
        writer = csv.writer(out) if a.format == "csv" and not per_item else None
        if per_item and not a.stages:
            # One row per item: the command's exit code, duration, attempts and last lines of output.
            from .command_jobs import write_foreach_csv

            count = await write_foreach_csv(client, job_id, out, secrets)
            what = "item(s)"
        elif a.stages:
            if writer is not None:
                writer.writerow(["stage", "index", "status", "output"])
            for st in await client.stage_outputs(job_id):
                count += 1
                output = redact(st.output, secrets)
                if writer is not None:
                    writer.writerow([st.name, st.index + 1, st.status.value,
                                     "" if output is None else json.dumps(output, default=str)])
                else:
                    out.write(json.dumps({"stage": st.name, "index": st.index + 1, "status": st.status.value,
                                          "output": output}, default=str) + "\n")
            what = "stage output(s)"
        else:
            what = "item(s)"
            if writer is not None:
                writer.writerow(["stage", "key", "status", "result", "error", "attempts", "updated_at"])
            async for item in client.export(job_id):
                count += 1
                result = redact(item.result, secrets)
                if writer is not None:
                    writer.writerow([item.stage, redact(item.key, secrets), item.status.value,
                                     "" if result is None else json.dumps(result),
                                     redact(item.error or "", secrets), item.attempts, iso(item.updated_at_ms)])
                else:
                    out.write(json.dumps({"stage": item.stage, "key": redact(item.key, secrets),
                                          "status": item.status.value, "result": result,
                                          "error": redact(item.error, secrets), "attempts": item.attempts,
                                          "updated_at": iso(item.updated_at_ms)}) + "\n")
        out.flush()
    except OSError as e:  # a full disk, /dev/full, a closed pipe
        raise UsageError(f"cannot write {a.output or 'stdout'}: {e.strerror or e}") from None
    finally:
        if out is not sys.stdout:
            with contextlib.suppress(OSError):  # already said above
                out.close()
    if a.output and a.output != "-":
        print(f"exported {count} {what} to {a.output}", file=sys.stderr)
    return 0
