"""The uvicorn server: its configuration from the settings (the connection guard of
service.connections, its deadlines and limits), and a drain period on SIGTERM before the
graceful shutdown.

A load balancer or Kubernetes learns that a replica is going away from its readiness checks. On
SIGTERM the service therefore first reports not-ready (503 on /ready and /v2/health/ready) while
it keeps serving every request for `drain_seconds`, long enough for the checks to take it out of
rotation; then uvicorn's graceful shutdown stops accepting connections and gives in-flight
requests `graceful_shutdown_seconds` to finish. SIGINT (Ctrl+C), or a second SIGTERM, skips the
drain.
"""

import logging
import signal
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.connections import ConnectionLimits, guarded_protocol
from service.settings import Settings

log = logging.getLogger(__name__)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration: where to listen, the connection guard, no access log (the app
    logs each request), no Server header, no WebSocket (the service has none)."""
    limits = ConnectionLimits(
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        ws="none",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]
        limit_concurrency=settings.max_connections,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,  # type: ignore[arg-type]
    )


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains for `drain_seconds` after the first SIGTERM."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_seconds: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_seconds = drain_seconds
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start draining on the first SIGTERM; anything else stops as uvicorn does."""
        if sig == signal.SIGTERM and self.drain_until is None and self.drain_seconds > 0:
            self._captured_signals.append(sig)  # uvicorn re-raises it once it has stopped
            self.app.state.draining = True
            self.drain_until = time.monotonic() + self.drain_seconds
            log.info("SIGTERM: not ready, serving for %g s before stopping", self.drain_seconds)
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Stop once the drain period is over (uvicorn calls this every 0.1 s)."""
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)
