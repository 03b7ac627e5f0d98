"""Retry policies (tenacity) and the transient/permanent classification of errors."""

from __future__ import annotations

import asyncio
import errno
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ..errors import JobtuiError, PermanentError, StageTimeoutError, TransientError

T = TypeVar("T")

_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.ENETDOWN, errno.EPIPE, errno.EAGAIN,
}


def is_transient(exc: BaseException) -> bool:
    """Tell whether an error is worth retrying: connection refused/reset, timeouts, HTTP 429/5xx.

    `TransientError` always is, `PermanentError` never is; an exception with a `transient`
    attribute decides for itself; anything else unknown is permanent.
    """
    if isinstance(exc, TransientError | StageTimeoutError):
        return True
    if isinstance(exc, PermanentError):
        return False
    flag = getattr(exc, "transient", None)
    if isinstance(flag, bool):
        return flag
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if "httpx" in sys.modules:
        import httpx

        if isinstance(exc, httpx.HTTPStatusError):
            code = exc.response.status_code
            return code == 429 or code == 408 or code >= 500
        if isinstance(exc, httpx.TransportError):
            # Timeouts, connect/read/write errors, remote protocol errors; not bad URLs or schemes.
            return not isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError | httpx.LocalProtocolError)
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


@dataclass(frozen=True, slots=True)
class Retry:
    """A retry policy: exponential backoff with jitter, capped.

    Attributes:
        retries: attempts after the first (0: never retry).
        base_s: the first wait; each next one doubles.
        cap_s: no wait is longer.
        jitter_s: up to this much random time is added to each wait (default: base_s).
        retry_on: which errors to retry (default: `is_transient`).
    """

    retries: int = 3
    base_s: float = 2.0
    cap_s: float = 30.0
    jitter_s: float | None = None
    retry_on: Callable[[BaseException], bool] = is_transient

    @property
    def attempts(self) -> int:
        """Return the most attempts one run makes."""
        return self.retries + 1

    def wait_s(self, attempt: int) -> float:
        """Return the wait before the attempt after `attempt` (1-based), jitter included."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = attempt
        return float(self._wait()(state))

    def _wait(self) -> wait_exponential_jitter:
        jitter = self.base_s if self.jitter_s is None else self.jitter_s
        return wait_exponential_jitter(initial=1, multiplier=self.base_s, max=self.cap_s, jitter=jitter)


NO_RETRY = Retry(retries=0)
"""A policy that never retries."""


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: Retry,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], Awaitable[None] | None] | None = None,
) -> tuple[T, int]:
    """Run `fn` under `policy`; return its result and the number of attempts it took.

    The first attempt runs without tenacity (about 20 µs saved on the hot path of every stage and
    item); only when it fails with a retryable error does tenacity take over, with that failure
    replayed as its attempt 1 so that waits and counts stay tenacity's.
    """
    try:
        return await fn(), 1
    except Exception as exc:
        if policy.retries <= 0 or not policy.retry_on(exc):
            raise
        first: list[BaseException] = [exc]

    attempts = 0

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        if first:
            raise first.pop()
        return await fn()

    async def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            err = state.outcome.exception()
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            if err is not None:
                res = on_retry(state.attempt_number, err, float(delay))
                if res is not None:
                    await res

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy._wait(),
        retry=retry_if_exception(policy.retry_on),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    result: Any = await retrying(attempt)
    return result, attempts


def describe(exc: BaseException) -> str:
    """Return 'Type: message' for an error, one line."""
    text = str(exc).strip().replace("\n", " ")
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def is_expected(exc: BaseException) -> bool:
    """Tell whether an error is one a stage means or meets (jobtui's own, a transient network error).

    Anything else is a bug in the stage, and its traceback is worth keeping.
    """
    return isinstance(exc, JobtuiError) or is_transient(exc)


def last_frames(exc: BaseException, limit: int = 6) -> str:
    """Return the last `limit` frames of an error's traceback and the error, as Python prints them."""
    lines = traceback.format_exception(exc, limit=-limit, chain=False)
    return "".join(lines).rstrip()
