"""jobtui errors.

* JobtuiError
  x UsageError             (bad input from a person: params, ids, times; one clear line)
    + SubmitError          (one of several submissions: .index, .error)
    + UnknownJobTypeError
    + ParamError
    + JobNotFoundError
    + InvalidTransitionError
  x StoreError             (wraps aiosqlite / sqlite3 errors: corrupt, locked, unreadable)
    + SchemaVersionError
    + LeaseLostError       (a runner's writes were refused: another runner reclaimed its jobs)
    + NotJobtuiDatabaseError (an existing file that jobtui did not make: never written to)
    + NoDatabaseError      (a command that only reads found no database)
  x StageError             (a stage raised; .job_id, .stage, .__cause__)
    + StageTimeoutError
  x PermanentError         (raise from a stage or item: never retried)
  x TransientError         (raise from a stage or item: always retried)
"""

from __future__ import annotations


class JobtuiError(Exception):
    """Base class for jobtui errors."""


class UsageError(JobtuiError):
    """Bad input from a person: shown as one line, exit status 2."""


class SubmitError(UsageError):
    """One submission of several was refused (nothing was stored); `.index` (0-based) says which.

    The original error is `.error` (and `__cause__`): an UnknownJobTypeError, a ParamError, ...
    """

    def __init__(self, index: int, error: UsageError) -> None:
        self.index = index
        self.error = error
        super().__init__(f"job {index + 1}: {error}")


class UnknownJobTypeError(UsageError):
    """No job type of this name is registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        hint = f" (known: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown job type {name!r}{hint}")


class ParamError(UsageError):
    """A job parameter is missing, unknown or of the wrong type."""


class JobNotFoundError(UsageError):
    """No job has this id."""

    def __init__(self, job_id: object) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id}")


class InvalidTransitionError(UsageError):
    """A control request does not apply to the job's current state."""

    def __init__(self, job_id: int, status: str, action: str, detail: str = "") -> None:
        self.job_id = job_id
        self.status = status
        self.action = action
        extra = f": {detail}" if detail else ""
        super().__init__(f"job {job_id} is {status}; cannot {action}{extra}")


class StoreError(JobtuiError):
    """The database could not be read or written."""


class SchemaVersionError(StoreError):
    """The database was written by a newer jobtui."""


class NotJobtuiDatabaseError(StoreError):
    """An existing file is not a jobtui database; jobtui refuses it before writing anything."""


class NoDatabaseError(StoreError):
    """No database at the path, and the command does not create one."""


class LeaseLostError(StoreError):
    """A runner's lease expired and another runner reclaimed its jobs; its writes are refused."""


class StageError(JobtuiError):
    """A stage raised; the original error is the __cause__."""

    def __init__(self, job_id: int, stage: str, message: str) -> None:
        self.job_id = job_id
        self.stage = stage
        super().__init__(message)


class StageTimeoutError(StageError):
    """A stage attempt ran past its timeout."""


class PermanentError(JobtuiError):
    """Raise from a stage or item to fail it without retrying."""


class TransientError(JobtuiError):
    """Raise from a stage or item to have it retried with backoff."""
