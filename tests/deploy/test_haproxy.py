"""deploy/haproxy: `haproxy -c` accepts the configuration with each servers file, and a live
balancer in front of a stub replica passes the API key on, refuses oversized heads and cuts off
a client that sends its headers too slowly."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.balancer import HAPROXY_CONFIG, Balancer
from benchmarks.servers import HOST

SERVERS = sorted(HAPROXY_CONFIG.parent.glob("servers-*.cfg"))


def haproxy() -> str:
    """The haproxy binary; skip without it, except in CI (CI=true), where it must be there."""
    if path := shutil.which("haproxy"):
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("haproxy is missing: .ci/run installs it (.ci/system-packages)")
    pytest.skip("haproxy is missing: apt-get install haproxy")


@pytest.mark.parametrize("servers", SERVERS, ids=lambda path: path.name)
def test_haproxy_config_valid(servers: Path) -> None:
    done = subprocess.run(
        [haproxy(), "-c", "-f", str(HAPROXY_CONFIG), "-f", str(servers)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_haproxy_config_bounds_clients() -> None:
    config = HAPROXY_CONFIG.read_text()
    for line in (
        "timeout http-request 10s",
        "timeout http-keep-alive 10s",
        "option http-buffer-request",
        "maxconn 4000",
        "maxconn 256",
        "if { req.hdrs,length gt 16384 }",
    ):
        assert line in config, line
    assert "del-header Authorization" not in config.lower()


class Echo(BaseHTTPRequestHandler):
    """A stub replica: /ready answers 200, anything else the Authorization header it got."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balancer]:
    haproxy()
    replica = ThreadingHTTPServer((HOST, 0), Echo)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    balancer = Balancer({"r1": replica.server_address[1]}, tmp_path_factory.mktemp("lb"))
    balancer.start()
    try:
        assert balancer.wait_status("r1", "UP", 15) is not None
        yield balancer
    finally:
        balancer.stop()
        replica.shutdown()


def exchange(balancer: Balancer, head: bytes, timeout: float = 20) -> tuple[bytes, float]:
    """Send a raw request head; the answer until the balancer closes, and how long it took."""
    with socket.create_connection((HOST, balancer.port), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
    return answer, time.monotonic() - started


def test_balancer_passes_the_api_key_on(balancer: Balancer) -> None:
    head = b"GET /models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-1\r\n"
    answer, _ = exchange(balancer, head + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"authorization": "Bearer k-1"}


@pytest.mark.parametrize(
    ("size", "status"),
    [(20_000, b"431"), (1_000_000, b"400")],
    ids=["20 KB header: the rule's 431", "1 MB header: past the buffer, HAProxy's 400"],
)
def test_balancer_refuses_oversized_heads(balancer: Balancer, size: int, status: bytes) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    answer, _ = exchange(balancer, head)
    assert answer.split()[1] == status


def test_balancer_cuts_off_slow_headers(balancer: Balancer) -> None:
    with socket.create_connection((HOST, balancer.port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
        seconds = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 9.5 <= seconds <= 12
