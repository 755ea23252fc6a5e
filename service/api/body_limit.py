"""The body size limit: 413 before the app reads more than `max_body_bytes`."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_key, send_json

CLOSE = [(b"connection", b"close")]


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: by its Content-Length before reading it, or as soon as
    the streamed bytes pass the limit; the app never holds more than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit():
            await send_json(send, 400, "Invalid Content-Length header", key=error_key(scope))
            return
        if int(declared) > self.max_bytes:
            await send_json(send, 413, self._detail(), CLOSE, error_key(scope))
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    await send_json(send, 413, self._detail(), CLOSE, error_key(scope))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once 413 is sent, the app's own answer is dropped
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _detail(self) -> str:
        return f"Request body too large: the limit is {self.max_bytes} bytes"
