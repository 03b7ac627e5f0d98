"""Bulk actions by filter: `pause|resume|cancel|retry|delete|fail --where FILTER [--dry-run] [--yes]`."""

from __future__ import annotations

import argparse
import sys

from ..client import Client
from ..client.bulk import BULK_CONFIRM, parse_where
from ..errors import UsageError
from ..model import Action, JobId

WHERE_HELP = ("every job this filter matches, as the TUI's / filter: status:failed type:ocr label:k=v queue:NAME"
              " words, a leading ! negates a token (instead of ids)")


def add_where_options(sp: argparse.ArgumentParser) -> None:
    """Add job ids (optional) and `--where`, `--dry-run`, `--yes` to a command that steers jobs."""
    sp.add_argument("ids", nargs="*", metavar="ID")
    sp.add_argument("--where", metavar="FILTER", help=WHERE_HELP)
    sp.add_argument("--dry-run", action="store_true", help="with --where: say how many jobs it would change, change none")
    sp.add_argument("--yes", action="store_true", help=f"with --where: act on more than {BULK_CONFIRM} jobs without asking")


def check_target(a: argparse.Namespace) -> bool:
    """Tell whether the command acts by filter (`--where`); UsageError for ids and a filter, or neither."""
    if a.where is None:
        if a.dry_run or a.yes:
            raise UsageError("--dry-run and --yes apply to --where FILTER")
        if not a.ids:
            raise UsageError("give job ids, or --where FILTER (e.g. --where 'status:failed type:ocr')")
        return False
    if a.ids:
        raise UsageError("give job ids or --where FILTER, not both")
    return True


def _ids_text(ids: tuple[JobId, ...]) -> str:
    shown = ", ".join(map(str, ids[:20]))
    return shown + (f" … (+{len(ids) - 20})" if len(ids) > 20 else "")


def _confirmed(action: Action, count: int) -> bool:
    """Ask at a terminal whether to act on `count` jobs (never without one)."""
    if not sys.stdin.isatty():
        raise UsageError(f"{action.value} would change {count} jobs (more than {BULK_CONFIRM}): add --yes,"
                         " or see them first with --dry-run")
    print(f"{action.value} {count} jobs? [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


async def run_where(client: Client, a: argparse.Namespace, action: Action, *, reason: str | None = None) -> int:
    """Apply `action` to every job `--where` matches (after `--dry-run`'s count, or a confirmation)."""
    plan = await client.bulk_plan(action, parse_where(a.where))
    others = plan.matched - len(plan.targets)
    note = f" ({others} more match, in a state {action.value} does not apply to)" if others else ""
    if a.dry_run:
        print(f"would {action.value} {len(plan.targets)} job(s){note}" + (
            f": {_ids_text(plan.targets)}" if plan.targets else ""))
        return 0
    if not plan.targets:
        print(f"no job to {action.value}{note}")
        return 0
    if len(plan.targets) > BULK_CONFIRM and not a.yes and not _confirmed(action, len(plan.targets)):
        print("nothing changed")
        return 1
    result = await client.bulk_apply(plan, reason=reason)
    print(f"{action.value}: {len(result.changed)} job(s) changed" + (
        f": {_ids_text(result.changed)}" if result.changed else "") + (
        f"; {len(result.skipped)} left alone (changed meanwhile)" if result.skipped else ""))
    return 0
