"""`python -m service` as a real process: HTTP limits on the wire, JSON logs, SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model_dir: Path, log: Path, **env: str) -> Server:
    """Start `python -m service` and wait until it is ready."""
    port = free_port()
    variables = {"MODEL_DIR": str(model_dir), "HOST": "127.0.0.1", "PORT": str(port), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "service"],
        cwd=ROOT,
        env={**os.environ, **variables},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{server.url}/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"service did not become ready:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; the SIGTERM test, last, stops it (starting one costs ~10 s)."""
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    server = start_server(model_dir, log, GRACEFUL_SHUTDOWN_SECONDS="10", DRAIN_SECONDS="0")
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(30)


def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send raw bytes, return everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65_536):
        chunks.append(chunk)
    return b"".join(chunks)


def post_head(length: int | None, path: str = "/sentiment") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\n{framing}\r\n\r\n"
    ).encode()


def wait_in_flight(server: Server, count: int) -> None:
    """Wait until the server reports `count` requests in flight."""
    deadline = time.monotonic() + 10
    while f"http_requests_in_flight {float(count)}" not in httpx.get(f"{server.url}/metrics").text:
        assert time.monotonic() < deadline, "the request never reached the app"
        time.sleep(0.05)


def test_predict_sentiment_over_http(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/sentiment", json={"text": "a great movie"}, headers={"X-Request-ID": "t-1"}
    )
    assert response.status_code == 200
    assert response.json()["model_version"] == "1"
    assert response.headers["x-request-id"] == "t-1"


def test_predict_declared_body_too_large_over_http(server: Server) -> None:
    answer = raw_request(server.port, post_head(10**9))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"detail":"Request body too large' in answer


def test_predict_chunked_body_too_large_over_http(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post_head(None) + b'a\r\n{"text": "\r\n')
        chunk = b"a" * 65_536
        try:
            for _ in range(200):  # 13 MB, more than the limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Request body too large" in answer


def test_serve_json_logs(server: Server, eventually: Callable[..., None]) -> None:
    httpx.get(f"{server.url}/health", headers={"X-Request-ID": "log-check-7"})

    def entries() -> list[dict]:
        lines = [line for line in server.log.read_text().splitlines() if line.startswith("{")]
        return [json.loads(line) for line in lines]

    def access() -> list[dict]:
        return [e for e in entries() if e.get("request_id") == "log-check-7"]

    eventually(access, timeout=5)
    assert access()[0]["status"] == 200 and access()[0]["route"] == "/health"
    assert any(e["message"].startswith("serving sentiment version 1") for e in entries())


def test_serve_sigterm_finishes_in_flight_requests(server: Server) -> None:
    body = json.dumps({"texts": ["a great movie", "dull"] * 32}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post_head(len(body)) + body[:100])
        wait_in_flight(server, 2)  # this request, and the /metrics request asking
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        sock.sendall(body[100:])
        answer = read_all(sock)
    assert server.process.wait(20) == 0
    assert answer.startswith(b"HTTP/1.1 200 ")
    payload = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert len(payload["results"]) == 64
    assert "Finished server process" in server.log.read_text()
