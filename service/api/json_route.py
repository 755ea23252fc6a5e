"""A route class for endpoints that take a JSON body: the body must be UTF-8 JSON."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from service.api.schemas import ErrorResponse

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# Error answers every JSON endpoint can give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Body is not valid UTF-8"},
    413: {"model": ErrorResponse, "description": "Body too large"},
    415: {"model": ErrorResponse, "description": "Content-Type is not application/json"},
    503: {"model": ErrorResponse, "description": "Model not loaded yet, or overloaded"},
}


def is_json(content_type: str) -> bool:
    """application/json or application/<anything>+json, parameters ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JsonBodyRoute(APIRoute):
    """415 unless Content-Type is JSON; 400 unless the body is UTF-8; then the usual parsing."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def check_body_then_handle(request: Request) -> Response:
            if not is_json(request.headers.get("content-type", "")):
                raise HTTPException(415, "Content-Type must be application/json")
            try:
                (await request.body()).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPException(400, f"Body is not valid UTF-8 (byte {exc.start})") from None
            return await handle(request)

        return check_body_then_handle
