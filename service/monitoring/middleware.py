"""The request-context middleware: request ids in and out, one access log line and the request
metrics per request."""

import logging
import random
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_key, send_json
from service.monitoring.logs import request_id_var
from service.monitoring.metrics import Metrics

log = logging.getLogger("service.access")
# The status recorded for a request the app gave no answer to: the client left, or was cut off
# by a deadline (service.connections), first (nginx's "client closed request").
NO_ANSWER = 499

REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def route_label(scope: Scope) -> str:
    """The matched route's path template, a mounted app's mount path, else `unmatched`
    (raw paths would give the metrics one series per URL ever requested)."""
    if path := getattr(scope.get("route"), "path", None):
        return path
    if "app_root_path" in scope:  # set by Starlette's Mount
        return scope["root_path"][len(scope["app_root_path"]) :]
    return "unmatched"


class RequestContextMiddleware:
    """X-Request-ID in and out, one JSON access log line and the request metrics per request;
    an error that escapes the app becomes a generic 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Labelled series, looked up once each: `.labels()` costs a lock and a hash per call.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # A plain count, read when /metrics is scraped: every change happens on the event loop,
        # so it needs none of the gauge's locking.
        self._in_flight = 0
        metrics.in_flight.set_function(lambda: self._in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else f"{random.getrandbits(128):032x}"
        token = request_id_var.set(request_id)
        status = NO_ANSWER
        responded = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        self._in_flight += 1
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not responded:
                await send_json(send_with_id, 500, "Internal server error", key=error_key(scope))
        finally:
            self._in_flight -= 1
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_label(scope)
        key = (scope["method"], route, status)
        if (series := self._series.get(key)) is None:
            series = self._series[key] = (
                self.metrics.requests.labels(key[0], route, str(status)),
                self.metrics.latency.labels(key[0], route),
            )
        series[0].inc()
        series[1].observe(seconds)
        log.info(
            "%s %s %d",
            scope["method"],
            scope["path"],
            status,
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
