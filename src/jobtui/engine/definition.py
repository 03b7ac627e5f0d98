"""The public definition API: a job type is a name plus an ordered list of async stages."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ..errors import ParamError, UnknownJobTypeError, UsageError
from ..keywords import check_keywords
from .retry import Retry

if TYPE_CHECKING:
    from .context import Context

StageFn = Callable[["Context"], Awaitable[Any]]
StagesFrom = Callable[[Mapping[str, Any]], "Sequence[Stage | StageFn]"]
"""Build a job's stages from its validated params (a pipeline's stages come from its file)."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Sentinel default: the param must be given."""


_BUILTIN_TYPES = (str, int, float, bool, list, dict)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a job type: its type, default and help."""

    type: type = str
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None

    @property
    def required(self) -> bool:
        """Tell whether a job must be given this param (it has no default)."""
        return self.default is REQUIRED

    def coerce(self, name: str, value: Any) -> Any:
        """Return `value` as this param's type, parsing strings from the command line.

        Raises:
            ParamError: the value does not fit.
        """
        try:
            if value is None:
                out: Any = None
            elif self.type is bool:
                if isinstance(value, bool):
                    out = value
                elif isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                    out = True
                elif isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                    out = False
                else:
                    raise ValueError(value)
            elif self.type in (list, dict):
                out = json.loads(value) if isinstance(value, str) else value
                if not isinstance(out, self.type):
                    raise ValueError(value)
            elif self.type is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError(value)
                out = int(value)
            elif self.type is float:
                if isinstance(value, bool):
                    raise ValueError(value)
                out = float(value)
                if out != out or out in (float("inf"), float("-inf")):
                    raise ValueError(value)
            else:
                out = self.type(value)
        except (ValueError, TypeError, json.JSONDecodeError) as e:
            # A param type of the app's own (URLList, ...) says why in its error; builtins' texts are noise.
            why = str(e) if self.type not in _BUILTIN_TYPES and str(e) and str(e) != str(value) else ""
            raise ParamError(f"param {name!r}: expected {self.type.__name__}, got {value!r}"
                             + (f" ({why})" if why else "")) from None
        if self.choices is not None and out not in self.choices:
            raise ParamError(f"param {name!r}: {out!r} is not one of {', '.join(map(repr, self.choices))}")
        if self.min is not None and out is not None and out < self.min:
            raise ParamError(f"param {name!r}: {out!r} is below the minimum {self.min:g}")
        return out


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a job type: an async function of a Context, with its retry policy and timeout."""

    fn: StageFn
    name: str = ""
    retry: Retry = field(default_factory=Retry)
    timeout_s: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", getattr(self.fn, "__name__", "stage"))
        if not self.description:
            doc = (getattr(self.fn, "__doc__", None) or "").strip()
            object.__setattr__(self, "description", doc.split("\n")[0] if doc else "")


def stage(
    fn: StageFn | None = None,
    *,
    name: str = "",
    retry: Retry | None = None,
    timeout_s: float | None = None,
) -> Any:
    """Turn an async function into a Stage; usable bare (`@stage`) or with options (`@stage(retry=...)`)."""

    def wrap(f: StageFn) -> Stage:
        return Stage(f, name or f.__name__, retry or Retry(), timeout_s)

    return wrap(fn) if fn is not None else wrap


class JobPolicy(TypedDict, total=False):
    """How the jobs of a JobType retry, pause and time out (its keywords; see JobType)."""

    max_retries: int
    retry_delay_s: float
    auto_pause_after: int
    timeout_s: float | None
    item_retry: Retry | None


class JobType:
    """A named, ordered list of stages with its params and policies.

    Args:
        name: how `submit` and the TUI name it.
        stages: Stage objects or plain async functions of a Context (then default policies apply).
        params: the params a job of this type takes; others are refused.
        description: one line for `jobtui types` and the new-job form.
        policy (JobPolicy):
        max_retries: automatic retries of a failed job (then it waits `retry_delay_s`, doubling).
        auto_pause_after: consecutive item failures that pause the job (0 turns it off).
        timeout_s: a limit for the whole job; past it the job fails.
        item_retry: the retry policy of items in `ctx.items` (default: each stage's policy).
        stages_from: build each job's stages from its params instead (then `stages` is what
            `jobtui types` shows, and may be empty). It must give the same stages for the same
            params every time: the runner checks a job's recorded stage names against them.
        queue: the queue its jobs run in unless `--queue` names another (`jobtui queue add NAME` first).
    """

    def __init__(
        self,
        name: str,
        stages: Sequence[Stage | StageFn],
        *,
        params: Mapping[str, Param] | None = None,
        description: str = "",
        stages_from: StagesFrom | None = None,
        queue: str | None = None,
        **policy: Unpack[JobPolicy],
    ) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("a job type needs a name")
        check_keywords(policy, JobPolicy, "JobType")
        self.name = name
        self.stages_from = stages_from
        self.stages: tuple[Stage, ...] = ()
        if stages or stages_from is None:
            self.stages = self._checked(stages)
        self.params: dict[str, Param] = dict(params or {})
        self.description = description
        self.max_retries = policy.get("max_retries", 0)
        self.retry_delay_s = policy.get("retry_delay_s", 10.0)
        self.auto_pause_after = policy.get("auto_pause_after", 5)
        self.timeout_s = policy.get("timeout_s")
        self.item_retry = policy.get("item_retry")
        self.queue = queue

    def __repr__(self) -> str:
        return f"JobType({self.name!r}, stages={[s.name for s in self.stages]})"

    def _checked(self, stages: Sequence[Stage | StageFn]) -> tuple[Stage, ...]:
        out = tuple(s if isinstance(s, Stage) else Stage(s) for s in stages)
        if not out:
            raise ValueError(f"job type {self.name!r} has no stages")
        names = [s.name for s in out]
        if len(set(names)) != len(names):
            raise ValueError(f"job type {self.name!r} repeats a stage name: {names}")
        return out

    def stages_for(self, params: Mapping[str, Any]) -> tuple[Stage, ...]:
        """Return the stages of one job with these (validated) params.

        Raises:
            ParamError: `stages_from` cannot build stages from these params.
        """
        if self.stages_from is None:
            return self.stages
        try:
            return self._checked(self.stages_from(params))
        except ValueError as e:
            if isinstance(e, ParamError):
                raise
            raise ParamError(str(e)) from None

    def stage_index_for(self, params: Mapping[str, Any], name_or_number: str) -> int:
        """Return the index of a stage of the job with these params (see `stage_index`).

        Raises:
            UsageError: no such stage.
        """
        names = tuple(s.name for s in self.stages_for(params))
        if name_or_number in names:
            return names.index(name_or_number)
        # ASCII digits only: int() also reads '١' as 1, and '²' passes isdigit() but not int().
        if name_or_number.isascii() and name_or_number.isdigit() and len(name_or_number) <= 6 \
                and 1 <= int(name_or_number) <= len(names):
            return int(name_or_number) - 1
        raise UsageError(f"job type {self.name!r} has no stage {name_or_number!r} (stages: {', '.join(names)})")

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Return the stage names in order."""
        return tuple(s.name for s in self.stages)

    def stage_index(self, name_or_number: str) -> int:
        """Return the index of a stage given by name or by 1-based number (of the static stages).

        Raises:
            UsageError: no such stage.
        """
        return self.stage_index_for({}, name_or_number) if self.stages_from is None else self._static_index(name_or_number)

    def _static_index(self, name_or_number: str) -> int:
        names = self.stage_names
        if name_or_number in names:
            return names.index(name_or_number)
        raise UsageError(f"job type {self.name!r} builds its stages from each job's params; name a job's stage")

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Return params with defaults filled in and values coerced.

        Raises:
            ParamError: a param is unknown, missing or of the wrong type.
        """
        unknown = sorted(set(raw) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise ParamError(f"job type {self.name!r} takes no param {unknown[0]!r} (params: {known})")
        out: dict[str, Any] = {}
        for pname, spec in self.params.items():
            if pname in raw:
                out[pname] = spec.coerce(pname, raw[pname])
            elif spec.default is REQUIRED:
                raise ParamError(f"job type {self.name!r} needs param {pname!r}" + (f" ({spec.help})" if spec.help else ""))
            else:
                out[pname] = spec.default
        if self.stages_from is not None:
            self.stages_for(out)  # a pipeline that cannot be built is refused at submission
        return out


class Registry:
    """The job types a process knows: the built-in ones plus those of `--app` modules."""

    def __init__(self, types: Iterable[JobType] = ()) -> None:
        self._types: dict[str, JobType] = {}
        self.app_types: list[str] = []
        """The names of the types loaded from app modules, in load order (the TUI's form offers the first)."""
        for t in types:
            self.add(t)

    def add(self, job_type: JobType) -> JobType:
        """Register a job type (a later one of the same name replaces it)."""
        self._types[job_type.name] = job_type
        return job_type

    def get(self, name: str) -> JobType:
        """Return the job type of this name.

        Raises:
            UnknownJobTypeError: none is registered.
        """
        try:
            return self._types[name]
        except KeyError:
            raise UnknownJobTypeError(name, list(self._types)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Any:
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    @property
    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._types)

    def load_module(self, module: str) -> list[JobType]:
        """Import a module and register every JobType defined at its top level (or in its JOB_TYPES).

        Raises:
            UsageError: the module cannot be imported or defines no job type.
        """
        if os.getcwd() not in sys.path:
            # Like uvicorn and celery: a module beside the user's shell is importable.
            sys.path.insert(0, os.getcwd())
        try:
            mod = importlib.import_module(module)
        except Exception as e:  # an app module may fail in any way; report it as one line
            raise UsageError(f"cannot load app module {module!r}: {type(e).__name__}: {e}") from e
        found = list(getattr(mod, "JOB_TYPES", None) or [v for v in vars(mod).values() if isinstance(v, JobType)])
        if not found:
            raise UsageError(f"app module {module!r} defines no JobType")
        for t in found:
            self.add(t)
            if t.name not in self.app_types:
                self.app_types.append(t.name)
        return found

