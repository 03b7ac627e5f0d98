"""Errors as `application/problem+json` (RFC 9457), one stable `type` per kind of error, in one place."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    JobNotFoundError,
    JobtuiError,
    StoreError,
    UsageError,
)

log = logging.getLogger("jobtui.server")

PROBLEM = "application/problem+json"
TYPE_BASE = "urn:jobtui:problem:"
"""Each problem's `type` is this plus a slug (stable: programs may switch on it)."""

_HTTP_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
               406: "not-acceptable", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
               422: "invalid-input", 503: "unavailable"}


class BodyTooLargeError(Exception):
    """A request body passed its limit while it was read (guards.Guard)."""


class Problem(Exception):
    """An error reply: raise it from a handler or a dependency."""

    def __init__(self, status: int, slug: str, title: str, detail: str | None = None, *,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def problem_response(p: Problem, instance: str | None = None) -> JSONResponse:
    """Return the reply of a problem."""
    body: dict[str, Any] = {"type": TYPE_BASE + p.slug, "title": p.title, "status": p.status}
    if p.detail is not None:
        body["detail"] = p.detail
    if instance is not None:
        body["instance"] = instance
    body.update(p.extra)
    return JSONResponse(body, status_code=p.status, headers=p.headers, media_type=PROBLEM)


def from_jobtui(e: JobtuiError, transient: bool) -> Problem:
    """Return the problem a jobtui error is (the CLI's one-line message is its detail)."""
    if isinstance(e, JobNotFoundError):
        return Problem(404, "job-not-found", "No such job", str(e), job_id=e.job_id)
    if isinstance(e, InvalidTransitionError):
        return Problem(409, "transition-not-allowed", "Not allowed in the job's state", str(e),
                       job_id=e.job_id, job_status=e.status, action=e.action)
    if isinstance(e, IdempotencyKeyReusedError):
        return Problem(422, "idempotency-key-reused", "Idempotency-Key reused", str(e), job_id=e.job_id)
    if isinstance(e, UsageError):
        text = str(e)
        if text.startswith("no schedule named"):
            return Problem(404, "schedule-not-found", "No such schedule", text)
        if "unique key" in text and "active job" in text:
            return Problem(409, "unique-key-active", "An active job has this unique key", text)
        return Problem(422, "invalid-input", "Invalid input", text)
    if isinstance(e, StoreError) and transient:
        return Problem(503, "database-busy", "The database is busy; try again", str(e), headers={"Retry-After": "1"})
    return Problem(503, "database-error", "The database cannot be used", str(e), headers={"Retry-After": "5"})


def install(app: FastAPI, is_transient: Any) -> None:
    """Make every error of `app` a problem reply; never a traceback (a bug: a 500 with a reference in the log)."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(JobtuiError)
    async def _jobtui(request: Request, exc: JobtuiError) -> JSONResponse:
        return problem_response(from_jobtui(exc, bool(is_transient(exc))), request.url.path)

    @app.exception_handler(BodyTooLargeError)
    async def _too_large(request: Request, exc: BodyTooLargeError) -> JSONResponse:
        return problem_response(Problem(413, "too-large", "Request body too large", "the body passed the limit"),
                                request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()[:20]]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'][1:]) or 'body'}: {first['msg']}"
        return problem_response(Problem(422, "invalid-input", "Invalid input", detail, errors=errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _HTTP_SLUGS.get(exc.status_code, "error")
        p = Problem(exc.status_code, slug, slug.replace("-", " ").capitalize(), str(exc.detail),
                    headers=exc.headers or {})
        return problem_response(p, request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        ref = secrets.token_hex(6)
        log.error("request %s %s failed (reference %s)", request.method, request.url.path, ref, exc_info=exc)
        return problem_response(Problem(500, "internal-error", "Internal error",
                                        f"the server failed; its log has reference {ref}", reference=ref),
                                request.url.path)
