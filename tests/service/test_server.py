"""SIGTERM on `python -m service` as a real process: not ready first, serving through the drain."""

import signal
import time
from pathlib import Path

import httpx

from benchmarks.servers import service_server


def test_sigterm_drains_then_stops(model_dir: Path, tmp_path: Path) -> None:
    server = service_server(model_dir, {"DRAIN_SECONDS": "2"}, tmp_path / "service.log")
    server.start(timeout=120)
    try:
        assert server.process is not None
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        statuses = []
        while time.monotonic() - sent < 1.5:  # within the drain: new connections still served
            with httpx.Client(base_url=server.url, timeout=5) as client:
                ready = client.get("/ready")
                answer = client.post("/sentiment", json={"text": "a great movie"})
                v2 = client.post(
                    "/v2/models/sentiment/infer",
                    json={
                        "inputs": [
                            {"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["x"]}
                        ]
                    },
                )
            statuses.append((ready.status_code, answer.status_code, v2.status_code))
            time.sleep(0.1)
        assert statuses and set(statuses) == {(503, 200, 200)}
        assert ready.json() == {"detail": "not ready: shutting down"}
        assert server.process.wait(30) == 0
        assert time.monotonic() - sent >= 2.0
        assert "SIGTERM: not ready, serving for 2 s before stopping" in server.log.read_text()
    finally:
        server.stop()
