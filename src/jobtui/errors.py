"""jobtui errors.

* JobtuiError
  x UsageError             (bad input from a person: params, ids, times; one clear line)
    + SubmitError          (one of several submissions: .index, .error)
    + UnknownJobTypeError
    + ParamError
    + JobNotFoundError
    + InvalidTransitionError
    + RunnerNameTakenError (a live runner already has this name: .name)
    + IdempotencyKeyReusedError (an API submission's key was used for another request)
  x StoreError             (wraps aiosqlite / sqlite3 errors: corrupt, locked, unreadable)
    + SchemaVersionError
    + LeaseLostError       (a runner's writes were refused: another runner reclaimed its jobs)
    + NotJobtuiDatabaseError (an existing file that jobtui did not make: never written to)
    + NoDatabaseError      (a command that only reads found no database)
  x StageError             (a job failed at a stage; .job_id, .stage, .transient, .error, .__cause__)
    + StageTimeoutError    (a stage attempt ran past its timeout)
    + JobTimeoutError      (the whole job ran past its timeout)
    + ReplayMismatchError  (the job's recorded stages differ from its type's now)
  x PermanentError         (raise from a stage or item: never retried)
    + ItemsFailedError     (items failed for good, more than the stage allows; .failed, .total)
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


class RunnerNameTakenError(UsageError):
    """A live runner already has this name (`run --name`): two runners of one name would be one in every view."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


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


class IdempotencyKeyReusedError(UsageError):
    """An `Idempotency-Key` was used before for a different request."""

    def __init__(self, key: str, job_id: int) -> None:
        self.key = key
        self.job_id = job_id
        super().__init__(f"this Idempotency-Key was used for a different request (job {job_id})")


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
    """A job failed at a stage; what failed it is the __cause__ (when it was an exception).

    The runner raises and catches it: the job ends failed (or waits for its automatic retry when
    `transient`), with `error` as its error message.
    """

    def __init__(self, job_id: int, stage: str, message: str, *, transient: bool = False,
                 error: str | None = None) -> None:
        self.job_id = job_id
        self.stage = stage
        self.transient = transient
        """Whether the failure may pass (the job may then be retried later)."""
        self.error = error if error is not None else f"{type(self).__name__}: {message}"
        """The failure as recorded and shown: `Type: message` of what failed."""
        super().__init__(message)


class StageTimeoutError(StageError):
    """A stage attempt ran past its timeout."""


class JobTimeoutError(StageError):
    """The whole job ran past its timeout (`submit --timeout`, else its type's); never retried."""

    def __init__(self, job_id: int, stage: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(job_id, stage, f"job ran past its timeout of {timeout_s:g}s")


class ReplayMismatchError(StageError):
    """The stages a job was submitted with differ from those its type has now; never retried."""

    def __init__(self, job_id: int, job_type: str, recorded: tuple[str, ...], current: tuple[str, ...]) -> None:
        self.recorded = recorded
        self.current = current
        super().__init__(
            job_id, recorded[0] if recorded else "?",
            f"job was submitted with stages {list(recorded)}, but type {job_type!r} now has {list(current)}",
        )


class PermanentError(JobtuiError):
    """Raise from a stage or item to fail it without retrying."""


class TransientError(JobtuiError):
    """Raise from a stage or item to have it retried with backoff."""


class ItemsFailedError(PermanentError):
    """Items of a stage failed for good, more than it allows (`allow_failures`): the stage, and its job, fail.

    Not retried as a stage: `resume` or `retry` runs only the failed items again.
    """

    def __init__(self, failed: int, total: int, detail: str = "") -> None:
        self.failed = failed
        self.total = total
        super().__init__(f"{failed} of {total} items failed" + (f" ({detail})" if detail else ""))
