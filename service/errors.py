"""Errors the service raises and the handlers that turn every error into `{"detail": ...}` JSON
(`{"error": ...}` on the Open Inference Protocol's paths)."""

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope, Send

from service.open_inference import speaks_protocol

log = logging.getLogger(__name__)


class ServiceUnavailableError(Exception):
    """Not ready, overloaded or out of time: 503 with `Retry-After`."""

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class ModelCallError(Exception):
    """The model failed on a request's texts (a bug, not bad input)."""


# An error answer names at most this many problems: the first ones, the last entry saying how
# many more there were; an answer stays small whatever the request held.
MAX_ERRORS = 10
# The longest key of a request an error's location echoes.
MAX_ECHO_CHARS = 100


def describe_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without internals: type, location, message and a short input; at most
    `MAX_ERRORS` of them."""
    errors = list(errors)
    shown = errors if len(errors) <= MAX_ERRORS else errors[: MAX_ERRORS - 1]
    described = []
    for error in shown:
        item = {"type": error["type"], "loc": short_loc(error["loc"]), "msg": error["msg"]}
        if error["type"] == "json_invalid" and "ctx" in error:
            item["msg"] = f"JSON decode error: {error['ctx'].get('error', 'invalid JSON')}"
        if "input" in error and is_short_scalar(error["input"]):
            item["input"] = error["input"]
        described.append(item)
    if len(shown) < len(errors):
        more = len(errors) - len(shown)
        msg = f"and {more} more errors, not listed"
        described.append({"type": "too_many_errors", "loc": ["body"], "msg": msg})
    return described


def short_loc(loc: Any) -> list[Any]:
    """A location with over-long keys cut short (keys are whatever the client sent)."""
    return [
        f"{part[:MAX_ECHO_CHARS]}..."
        if isinstance(part, str) and len(part) > MAX_ECHO_CHARS
        else part
        for part in loc
    ]


def is_short_scalar(value: Any) -> bool:
    """Whether an input is worth echoing: a number, null, or a short encodable string."""
    if isinstance(value, str):
        return len(value) <= 100 and value.encode("utf-8", "replace").decode() == value
    if isinstance(value, float):
        return math.isfinite(value)  # NaN and Infinity have no JSON form
    return value is None or isinstance(value, bool | int)


async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
    """422 listing what is wrong with the request."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": describe_errors(exc.errors())}, status_code=422)


async def handle_http(request: Request, exc: Exception) -> JSONResponse:
    """404, 405, 413, 415 and other HTTP errors as JSON, keeping their headers."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


async def handle_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with a hint when to retry."""
    assert isinstance(exc, ServiceUnavailableError)
    headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": exc.detail}, status_code=503, headers=headers)


async def handle_model_error(request: Request, exc: Exception) -> JSONResponse:
    """500 without internals; the cause is in the log."""
    return JSONResponse({"detail": "The model failed on this request"}, status_code=500)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Generic 500 for anything unforeseen; the traceback goes to the log only."""
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


ErrorHandler = Callable[[Request, Exception], Awaitable[JSONResponse]]

# The answer to each kind of error, most specific first.
ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {
    RequestValidationError: handle_validation,
    HTTPException: handle_http,
    ServiceUnavailableError: handle_unavailable,
    ModelCallError: handle_model_error,
    Exception: handle_unexpected,
}


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    for kind, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(kind, handler)


def foreseen_error_handler(exc: Exception) -> ErrorHandler | None:
    """The handler of a foreseen error (any but the catch-all's), else None."""
    for kind, handler in ERROR_HANDLERS.items():
        if kind is not Exception and isinstance(exc, kind):
            return handler
    return None


def error_key(scope: Scope) -> str:
    """The Open Inference Protocol's endpoints answer errors as `{"error": ...}`, the others as
    `{"detail": ...}`."""
    return "error" if speaks_protocol(scope.get("path", "")) else "detail"


async def send_json(
    send: Send, status: int, detail: str, headers: list | None = None, key: str = "detail"
) -> None:
    """Send a whole `{key: detail}` JSON error response."""
    body = orjson.dumps({key: detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
