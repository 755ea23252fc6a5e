"""HTTP connections held to deadlines and a header size: uvicorn's HTTP protocol (httptools)
with what it leaves unbounded.

uvicorn closes a kept-alive connection idle for `timeout_keep_alive` and answers 503 past
`limit_concurrency`, but it keeps for ever a connection that opens and sends nothing, or sends
its headers or its body a byte at a time, and it reads a header block of any size (a 1 MB one
reaches the app). `GuardedHttpProtocol` adds, per connection:

- a header deadline, from the connection's opening (or a kept-alive connection's first byte of
  its next request) to the end of the request's headers: past it 408, or, for a connection
  that has sent nothing, a close;
- a body deadline, from the end of the headers to the end of the body: past it 408 if the app
  has not started its answer (the app sees the client leave), else a close;
- a header size limit: past `max_header_bytes` of request line and headers, 431 before the
  rest is parsed;
- the probes (/health, /ready, /v2/health/*) are served past `limit_concurrency`, so that a
  replica that is merely full is neither restarted by its liveness probe nor dropped by its
  readiness probe.

Refusals are JSON (`{"detail": ...}`, `{"error": ...}` on /v2) with `Connection: close`; the
connection then reads and drops what the client still sends for up to `LINGER_SECONDS` before
it closes, so that a client in the middle of sending gets the answer rather than a reset.
"""

import asyncio
import http
import logging
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.open_inference import speaks_protocol

log = logging.getLogger(__name__)

PROBES = frozenset({b"/health", b"/ready", b"/v2/health/live", b"/v2/health/ready"})
END_OF_HEADERS = b"\r\n\r\n"
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The deadlines (seconds) and the header size (bytes) of each request."""

    header_seconds: float
    body_seconds: float
    max_header_bytes: int


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and a header size limit."""

    limits: ConnectionLimits  # given by `guarded_protocol`

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True  # between requests, or reading a request line and headers
        self._head_bytes = 0
        self._tail = b""  # the last bytes of the head so far, to find its end across reads
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None
        self._arm(self.limits.header_seconds, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: what the client still sends is dropped
        if self._in_head:
            if self._timer is None:  # the first byte of a kept-alive connection's next request
                self._arm(self.limits.header_seconds, self._head_late)
            if not self._head_within_limit(data):
                limit = self.limits.max_header_bytes
                self._refuse(431, f"Request headers larger than {limit} bytes")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes, self._tail = False, 0, b""
        self._arm(self.limits.body_seconds, self._body_late)
        probe = self.url.split(b"?", 1)[0] in PROBES
        self.limit_concurrency = None if probe else self.config.limit_concurrency
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head = True
        super().on_message_complete()

    def _head_within_limit(self, data: bytes) -> bool:
        """Count the bytes of `data` that belong to the request's head; whether the head is
        still within `max_header_bytes`."""
        window = self._tail + data
        end = window.find(END_OF_HEADERS)
        self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
        self._tail = window[-3:]
        return self._head_bytes <= self.limits.max_header_bytes

    def _head_late(self) -> None:
        self._timer = None
        if not self._head_bytes:
            self.transport.close()  # an idle connection: nothing to answer
            return
        self._refuse(408, f"Request headers not received within {self.limits.header_seconds:g} s")

    def _body_late(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            self.transport.close()  # answered already (the app did not need the whole body)
            return
        cycle.disconnected = True  # the app sees the client leave; its answer is dropped
        cycle.message_event.set()
        self._refuse(408, f"Request body not received within {self.limits.body_seconds:g} s")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer `status` with `detail`, stop reading requests, close after lingering."""
        path = getattr(self, "url", b"").split(b"?", 1)[0].decode("latin-1")
        body = orjson.dumps({"error" if speaks_protocol(path) else "detail": detail})
        phrase = http.HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        log.info("%s from %s", detail, self.client[0] if self.client else "unknown")
        self._refused = True
        self.transport.write(head.encode("ascii") + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(LINGER_SECONDS, self.transport.close)

    def _arm(self, seconds: float, expire: object) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, expire)  # type: ignore[arg-type]

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """The protocol class uvicorn builds a connection with, holding `limits`."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})
