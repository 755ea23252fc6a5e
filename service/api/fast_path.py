"""The prediction endpoints' fast path: a valid request skips FastAPI's routing and handling.

Under load the event loop is what limits the service, and about a third of its time per
prediction went to Starlette's routing and FastAPI's request handling (exception wrappers, the
exit stack, dependency solving) around endpoints that do little themselves. This middleware
checks a POST to /sentiment or /next-word for an API key first, as the routes' dependency does
(`authorize`: 401 before the body is read), then answers one with a JSON Content-Type itself,
with the same model, the same `answer_*` function and the same error handlers as the routes. It
parses and
validates the body once, bounded by the limits (service.api.limits), and answers a body that
fails as the routes would (400 not UTF-8, 422 not JSON or invalid). Anything else (another
Content-Type, an empty body) goes on, body and all, to the FastAPI routes, which answer it as
/docs says.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.answers import answer_next_word, answer_sentiment, json_response
from service.api.auth import authorize, bearer, header_token, require_api_key
from service.api.json_route import is_json
from service.api.limits import parse_request
from service.api.schemas import NextWordRequest, SentimentRequest
from service.errors import foreseen_error_handler, handle_http

AnswerFunction = Callable[[Any, Any], Awaitable[BaseModel]]

# Path -> the request model and the function that answers a valid request.
ENDPOINTS: dict[str, tuple[type[BaseModel], AnswerFunction]] = {
    "/sentiment": (SentimentRequest, answer_sentiment),
    "/next-word": (NextWordRequest, answer_next_word),
}
# The dependencies the fast path applies itself, as their routes would (tests/service/api check
# that a prediction route depends on nothing else, so none is skipped).
APPLIED_DEPENDENCIES: tuple[Callable[..., Any], ...] = (require_api_key, bearer)


class PredictionFastPath:
    """Answer valid prediction requests directly; hand everything else to the app."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        # Path -> the route it stands in for, which the request metrics take their label from.
        self._routes = {r.path: r for r in routes if r.path in ENDPOINTS}  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = ENDPOINTS.get(scope["path"])
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        scope["route"] = self._routes[scope["path"]]
        try:
            authorize(scope, state.keys.api, header_token(scope))
        except HTTPException as exc:
            response = await handle_http(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        if not is_json(content_type(scope)):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client left, or the body limit has already answered 413
        if not body:
            await self.app(scope, replay(body, receive), send)  # FastAPI's "missing body"
            return
        request_model, answer = endpoint
        try:
            request = parse_request(request_model, body, state.settings)
            response = json_response(await answer(request, state))
        except Exception as exc:
            if (handler := foreseen_error_handler(exc)) is None:
                raise
            response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)


def content_type(scope: Scope) -> str:
    """The request's Content-Type header, or an empty string."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1")
    return ""


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then defers to `receive`."""
    pending = True

    async def receive_again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
