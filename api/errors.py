"""Engine errors as HTTP answers, in the body shape Litestar uses for its own errors.

Every error body is ``{"status_code", "detail"}``, plus ``extra`` where there is
more to say (the field a record body got wrong).  Unexpected exceptions are
logged here because Litestar's own logging is left unconfigured: logging is
set up once, by the command line.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap, Scope

from workflow.errors import (
    BackendUnavailable,
    CompletionNotApplicable,
    InvalidCompletion,
    InvalidRecord,
    RunExists,
    UnknownRecord,
    UnknownRun,
)

__all__ = [
    "EXCEPTION_HANDLERS",
    "TOO_LARGE",
    "UNAVAILABLE",
    "ErrorBody",
    "error_response",
    "error_responses",
    "log_unexpected",
]

STATUS_OF: dict[type[Exception], int] = {
    InvalidRecord: 400,
    InvalidCompletion: 400,
    UnknownRecord: 404,
    UnknownRun: 404,
    CompletionNotApplicable: 409,
    RunExists: 409,
    BackendUnavailable: 503,
}

#: Documented on every call that reaches the backend.
UNAVAILABLE = {503: "the backend (Redis) does not answer; nothing was done, retry later"}
#: Documented on every call that takes a body.
TOO_LARGE = {413: "the body is larger than the configured limit (--max-body-size)"}

logger = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct):
    """What every failed call answers: its status, what went wrong, and sometimes more."""

    status_code: int
    detail: str
    extra: dict[str, Any] | list[Any] | None = None


def error_response(status: int, detail: str, extra: dict[str, Any] | None = None) -> Response[Any]:
    """Return the error body for ``status`` with ``detail`` (and ``extra`` when given)."""
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if extra:
        body["extra"] = extra
    return Response(body, status_code=status)


def error_responses(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """Return OpenAPI entries for error answers, by status, each with what it means."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=text)
        for status, text in described.items()
    }


def _answer(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(exc, kind))
    field = getattr(exc, "field", None)
    if status == 503:
        logger.warning("backend unavailable: %s", exc)
    return error_response(status, str(exc), {"field": field} if field else None)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {kind: _answer for kind in STATUS_OF}


async def log_unexpected(exc: Exception, scope: Scope) -> None:
    """Log what no handler expected (answered 500), with the path it happened on."""
    if isinstance(exc, (HTTPException, *STATUS_OF)):
        return
    logger.error("%s %s failed", scope.get("method", "WS"), scope.get("path"), exc_info=exc)
