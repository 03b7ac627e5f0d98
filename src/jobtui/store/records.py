"""Rows to records: the column lists, JSON encoding, row decoding, and the records the store hands the engine."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from ..errors import StoreError
from ..model import (
    ACTIVE,
    PENDING,
    TERMINAL,
    ItemStatus,
    Job,
    JobStatus,
    StageRun,
    StageStatus,
)
from .encoding import dumps as dumps
from .schema import sql_in
from .values import Claimed, ControlResult, NewJob, StageRecord

JOB_COLS = (
    "job_id, type, status, params, priority, unique_key, stage_names, current_step_index, progress_done,"
    " progress_total, progress_message, failed_step, error_message, pause_reason, retry_count, max_retries,"
    " next_retry_at_ms, resume_count, recovery_count, consecutive_failures, run_at_ms, created_at_ms,"
    " started_at_ms, updated_at_ms, paused_at_ms, completed_at_ms, cancelled_at_ms, lease_owner, items_done,"
    " items_failed, timeout_ms, queue, slot"
)
STAGE_COLS = (
    "stage_index, name, status, attempts, max_attempts, started_at_ms, finished_at_ms, error, items_total,"
    " items_done, items_failed, checkpoint_at_ms, next_attempt_at_ms, runs, failures, output, traceback"
)
_ACTIVE_SQL = sql_in(ACTIVE)
_TERMINAL_SQL = sql_in(TERMINAL)
_PENDING_SQL = sql_in(PENDING)


class CorruptRowError(StoreError):
    """A row holds what jobtui never writes (an unknown status, invalid JSON): reported, never a traceback."""


def _loads(text: str | None) -> Any:
    try:
        return None if text is None else json.loads(text)
    except (ValueError, TypeError, RecursionError) as e:
        raise CorruptRowError(f"the database holds invalid JSON ({type(e).__name__}: {str(e)[:80]})") from None


_STATUS: dict[str, JobStatus] = {s.value: s for s in JobStatus}


@functools.lru_cache(maxsize=1024)
def _names(text: str) -> tuple[str, ...]:
    # Jobs of one type share their stage list: parse each distinct list once (the TUI reads 10k rows).
    return tuple(json.loads(text))


def job_status(text: Any, job_id: Any = None) -> JobStatus:
    """Return the JobStatus of a stored status text (CorruptRowError for one jobtui never writes)."""
    try:
        return _STATUS[text]
    except (KeyError, TypeError):
        raise CorruptRowError(f"job {job_id}: unknown status {text!r} in the database") from None


def item_status(text: Any) -> ItemStatus:
    """Return the ItemStatus of a stored item status text (CorruptRowError for one jobtui never writes)."""
    try:
        return ItemStatus(text)
    except ValueError:
        raise CorruptRowError(f"an item has unknown status {text!r} in the database") from None


def _job(row: Sequence[Any]) -> Job:
    try:
        params = _loads(row[3])
        names = _names(row[6])
    except (CorruptRowError, ValueError, TypeError, RecursionError):
        raise CorruptRowError(f"job {row[0]}: its row in the database is unreadable (invalid JSON)") from None
    if not isinstance(params, dict):
        raise CorruptRowError(f"job {row[0]}: its params in the database are not a JSON object")
    return Job(row[0], row[1], job_status(row[2], row[0]), params, row[4], row[5], names, *row[7:])


def _stage(row: Sequence[Any]) -> StageRun:
    (attempts, max_attempts, started, finished, error, items_total, items_done, items_failed, checkpoint, next_attempt,
     runs, failures, output, traceback) = row[3:17]
    try:
        status = StageStatus(row[2])
    except ValueError:
        raise CorruptRowError(f"stage {row[1]!r}: unknown status {row[2]!r} in the database") from None
    return StageRun(row[0], row[1], status, attempts, max_attempts, started, finished, error, items_total,
                    items_done, items_failed, checkpoint, next_attempt, runs, failures, _loads(output), traceback)

__all__ = ["Claimed", "ControlResult", "NewJob", "StageRecord"]  # defined in store/values.py
