"""Slow, idle and oversized clients against `python -m service` as a real process: each is cut
off within its deadline or refused, while /health keeps answering at once."""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.abuse import HealthPoller
from benchmarks.servers import HOST, Server, service_server

DEADLINE = 2.0  # header, body and keep-alive deadline of the server under test
SLACK = 1.5  # how late after its deadline a connection may be cut off
MAX_CONNECTIONS = 8
PROMPT = 1.0  # the slowest /health answer allowed meanwhile


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "HEADER_TIMEOUT_SECONDS": str(DEADLINE),
        "BODY_TIMEOUT_SECONDS": str(DEADLINE),
        "KEEP_ALIVE_SECONDS": str(DEADLINE),
        "MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "LOG_LEVEL": "warning",
    }
    server = service_server(model_dir, env, tmp_path_factory.mktemp("guard") / "service.log")
    server.start(timeout=300)
    yield server
    server.stop()


@pytest.fixture
def health(server: Server) -> Iterator[HealthPoller]:
    """/health polled without pause from another connection during the test."""
    with HealthPoller(server.url) as poller:
        yield poller
    assert 0 < poller.slowest < PROMPT


def connect(server: Server) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=30)


def trickle(sock: socket.socket, data: bytes, every: float = 0.2) -> tuple[bytes, float]:
    """Send `data` a byte every `every` seconds until the server answers or closes: its answer
    and the seconds it took."""
    started = time.monotonic()
    sock.settimeout(every)
    answer = b""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            while chunk := sock.recv(65_536):
                answer += chunk
            break  # closed by the server
        except TimeoutError:
            continue
        except OSError:
            break
    return answer, time.monotonic() - started


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    started = time.monotonic()
    sock.settimeout(timeout)
    answer = b""
    while chunk := sock.recv(65_536):
        answer += chunk
    return answer, time.monotonic() - started


def error_of(answer: bytes) -> tuple[int, dict]:
    """The status and JSON body of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    return int(head.split()[1]), json.loads(body)


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_slow_headers_cut_off_with_408(server: Server, health: HealthPoller) -> None:
    with connect(server) as sock:
        answer, seconds = trickle(sock, b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 200)
    assert DEADLINE - 0.1 <= seconds <= DEADLINE + SLACK
    assert error_of(answer) == (408, {"detail": "Request headers not received within 2 s"})


def test_slow_body_cut_off_with_408(server: Server, health: HealthPoller) -> None:
    body = json.dumps({"text": "a great movie " * 20}).encode()
    with connect(server) as sock:
        sock.sendall(post_head("/sentiment", len(body)))
        answer, seconds = trickle(sock, body)
    assert DEADLINE - 0.1 <= seconds <= DEADLINE + SLACK
    assert error_of(answer) == (408, {"detail": "Request body not received within 2 s"})


def test_slow_v2_body_cut_off_with_protocol_error(server: Server, health: HealthPoller) -> None:
    body = b'{"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}'
    with connect(server) as sock:
        sock.sendall(post_head("/v2/models/sentiment/infer", len(body)))
        answer, _ = trickle(sock, body)
    assert error_of(answer) == (408, {"error": "Request body not received within 2 s"})


def test_idle_connection_closed(server: Server, health: HealthPoller) -> None:
    with connect(server) as sock:
        answer, seconds = read_until_closed(sock, DEADLINE + 10)
    assert answer == b""
    assert DEADLINE - 0.1 <= seconds <= DEADLINE + SLACK


def test_idle_kept_alive_connection_closed(server: Server, health: HealthPoller) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer, seconds = read_until_closed(sock, DEADLINE + 10)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert seconds <= DEADLINE + SLACK


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(100_000)),
    ],
    ids=["1 MB header", "100,000 headers"],
)
def test_oversized_headers_refused_431(server: Server, health: HealthPoller, head: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(head)
        answer, seconds = read_until_closed(sock, 10)
    assert error_of(answer) == (431, {"detail": "Request headers larger than 16384 bytes"})
    assert seconds < 5


def test_headers_within_the_limit_served(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 15_000 + b"\r\n\r\n")
        answer = sock.recv(65_536)
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_connections_beyond_the_limit_get_503_probes_still_served(server: Server) -> None:
    held = [connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in held:
            sock.sendall(b"GET /health HTTP/1.1\r\n")  # open, headers unfinished
        time.sleep(0.2)
        body = json.dumps({"text": "a great movie"}).encode()
        with connect(server) as sock:
            sock.sendall(post_head("/sentiment", len(body)) + body)
            refused, _ = read_until_closed(sock, 10)
        probes = []
        for path in ("/health", "/ready", "/v2/health/live", "/v2/health/ready"):
            with connect(server) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
                probes.append(read_until_closed(sock, 10)[0])
    finally:
        for sock in held:
            sock.close()
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in probes)
