"""What hostile clients cost a real service process: requests built to cost far more than
their size, requests without a key, and clients that send slowly, nothing, or too much.

    python -m benchmarks.abuse [--model-dir model] [--repeat 10] [--json]

Starts `python -m service` with an API key on a free loopback port and sends each bad request
of `CASES` (with the key) and of `KEYLESS` (without): for each it prints the server's CPU time
per request (its process tree's, from /proc, over `--repeat` runs one after the other), the
status and size of the answer, the growth of the server's resident memory (its peak during
those runs, sampled every 10 ms, over its size before) and the slowest `/health` answer during
`--repeat` more runs (polled without pause from another connection). Then it opens the
connections of `SLOW_CLIENTS` side by side (one that sends nothing, headers or a body a byte
every half second, heads of 1 MB and of 100,000 headers) and prints how each ended and after how
long, with the slowest `/health` answer meanwhile; with the default deadlines this part takes
about half a minute.
"""

import argparse
import json
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import orjson

from benchmarks.servers import HOST, Server, service_server, tree_rss_bytes

JSON = {"content-type": "application/json"}
KEY = "abuse-benchmark-key"


@dataclass
class Case:
    """A bad request: its path, body and headers."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    keyed: bool = True  # sent with the server's API key


def texts_of_ints(size: int = 300_000) -> Case:
    """`{"texts": [1, 1, ...]}` of about `size` bytes: every item the wrong type."""
    count = (size - 12) // 2
    body = b'{"texts":[' + b",".join([b"1"] * count) + b"]}"
    return Case("native: 300 KB of {texts:[1,1,...]}", "/sentiment", body, JSON)


def blank_texts(count: int = 50_000) -> Case:
    """`{"texts": ["", ...]}`: strings of the right type, each invalid."""
    body = orjson.dumps({"texts": [""] * count})
    return Case(f"native: {count:,} blank texts", "/sentiment", body, JSON)


def v2_invalid_inputs(count: int = 100_000) -> Case:
    """A V2 inference request of `count` inputs that are not tensors."""
    body = orjson.dumps({"inputs": [{}] * count})
    return Case(f"/v2 JSON: {count:,} invalid inputs", "/v2/models/sentiment/infer", body, JSON)


def v2_empty_binary(count: int = 1_000_000) -> Case:
    """A V2 binary BYTES tensor of `count` empty elements (4 zero bytes each)."""
    binary = struct.pack("<I", 0) * count
    tensor = {"name": "texts", "shape": [count], "datatype": "BYTES"}
    tensor["parameters"] = {"binary_data_size": len(binary)}
    header = orjson.dumps({"inputs": [tensor]})
    headers = {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(header)),
    }
    name = f"/v2 binary: {count:,} empty elements"
    return Case(name, "/v2/models/sentiment/infer", header + binary, headers)


CASES: list[Callable[[], Case]] = [texts_of_ints, blank_texts, v2_invalid_inputs, v2_empty_binary]


def keyless_texts_of_ints() -> Case:
    """The 300 KB `{"texts": [1, 1, ...]}` without an API key: refused before it is read."""
    case = texts_of_ints()
    return Case(f"no key: {case.name.removeprefix('native: ')}", case.path, case.body, JSON, False)


def keyless_v2_inputs() -> Case:
    """The V2 request of invalid inputs without an API key."""
    case = v2_invalid_inputs()
    return Case(f"no key: {case.name}", case.path, case.body, JSON, False)


KEYLESS: list[Callable[[], Case]] = [keyless_texts_of_ints, keyless_v2_inputs]


@dataclass
class Figures:
    """What one case cost the server."""

    case: str
    request_bytes: int
    status: int
    response_bytes: int
    cpu_ms: float
    rss_growth_mb: float
    health_max_ms: float


class HealthPoller:
    """Polls /health without pause on its own connection; keeps the slowest answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "HealthPoller":
        self._running.set()
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._running.clear()
        self._thread.join()

    def _poll(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while self._running.is_set():
                started = time.perf_counter()
                client.get("/health")
                self.slowest = max(self.slowest, time.perf_counter() - started)


class PeakRss:
    """The peak resident memory of the server's process tree while inside the block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = tree_rss_bytes(pid)
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._running.set()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running.clear()
        self._thread.join()

    def _sample(self) -> None:
        while self._running.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            time.sleep(0.01)


def measure(server: Server, case: Case, repeat: int) -> Figures:
    """Send the case `repeat` times alone (CPU per request, memory), then `repeat` times more
    while another connection polls /health."""
    auth = {"authorization": f"Bearer {KEY}"} if case.keyed else {}
    with httpx.Client(base_url=server.url, timeout=60, headers=auth) as client:
        client.post(case.path, content=case.body, headers=case.headers)  # warm-up
        before = tree_rss_bytes(server.pid)
        with PeakRss(server.pid) as rss:
            start = server.cpu_seconds()
            for _ in range(repeat):
                response = client.post(case.path, content=case.body, headers=case.headers)
            cpu = (server.cpu_seconds() - start) / repeat
        with HealthPoller(server.url) as health:
            for _ in range(repeat):
                client.post(case.path, content=case.body, headers=case.headers)
    return Figures(
        case=case.name,
        request_bytes=len(case.body),
        status=response.status_code,
        response_bytes=len(response.content),
        cpu_ms=round(cpu * 1e3, 1),
        rss_growth_mb=round((rss.peak - before) / 2**20, 1),
        health_max_ms=round(health.slowest * 1e3, 1),
    )


def format_table(rows: list[Figures]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| case | request | status | answer | server CPU | RSS growth | slowest /health |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.request_bytes / 1e3:,.0f} KB | {r.status} "
            f"| {r.response_bytes:,} B | {r.cpu_ms:g} ms | {r.rss_growth_mb:g} MB "
            f"| {r.health_max_ms:g} ms |"
        )
    return "\n".join(lines)


def connect(server: Server) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=60)


def read_until_closed(sock: socket.socket, timeout: float = 60) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    answer = b""
    while chunk := sock.recv(65_536):
        answer += chunk
    return answer


def trickle(sock: socket.socket, data: bytes, every: float = 0.5) -> bytes:
    """Send `data` a byte every `every` seconds until the server answers and closes; what it
    answered."""
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
    return answer


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def idle(sock: socket.socket) -> bytes:
    """Open a connection and send nothing."""
    return read_until_closed(sock)


def slow_headers(sock: socket.socket) -> bytes:
    """Request line and headers a byte every half second."""
    return trickle(sock, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 500)


def slow_body(sock: socket.socket) -> bytes:
    """Headers at once, then a sentiment request's body a byte every half second."""
    body = json.dumps({"text": "a great movie " * 20}).encode()
    sock.sendall(post_head("/sentiment", len(body)))
    return trickle(sock, body)


def header_of_1_mb(sock: socket.socket) -> bytes:
    """One header of 1 MB."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")
    return read_until_closed(sock)


def many_headers(sock: socket.socket) -> bytes:
    """100,000 small headers (1.2 MB)."""
    sock.sendall(b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(100_000)))
    return read_until_closed(sock)


SLOW_CLIENTS: list[Callable[[socket.socket], bytes]] = [
    idle,
    slow_headers,
    slow_body,
    header_of_1_mb,
    many_headers,
]


@dataclass
class Cutoff:
    """How a hostile connection ended: the answer's status (0: closed without one), when."""

    client: str
    status: int
    seconds: float


def cut_off(server: Server, client: Callable[[socket.socket], bytes]) -> Cutoff:
    """Run one hostile client on its own connection; how and when the server ended it."""
    started = time.perf_counter()
    with connect(server) as sock:
        answer = client(sock)
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    name = (client.__doc__ or client.__name__).splitlines()[0].rstrip(".")
    return Cutoff(name, status, round(time.perf_counter() - started, 2))


def measure_slow_clients(server: Server) -> tuple[list[Cutoff], float]:
    """Every client of `SLOW_CLIENTS` at once, while another connection polls /health; the
    slowest /health answer meanwhile (ms)."""
    found: dict[int, Cutoff] = {}

    def run(index: int, client: Callable[[socket.socket], bytes]) -> None:
        found[index] = cut_off(server, client)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(SLOW_CLIENTS)]
    with HealthPoller(server.url) as health:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return [found[index] for index in range(len(SLOW_CLIENTS))], round(health.slowest * 1e3, 1)


def format_cutoffs(rows: list[Cutoff], health_max_ms: float) -> str:
    """The slow clients' figures as a Markdown table."""
    lines = ["| client | answer | cut off after |", "| --- | ---: | ---: |"]
    for r in rows:
        answer = str(r.status) if r.status else "closed"
        lines.append(f"| {r.client} | {answer} | {r.seconds:g} s |")
    return "\n".join(lines) + f"\n\nSlowest /health meanwhile: {health_max_ms:g} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.abuse", description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    log = Path(tempfile.mkdtemp(prefix="abuse-")) / "service.log"
    server = service_server(args.model_dir, {"LOG_LEVEL": "warning", "API_KEYS": KEY}, log)
    server.start()
    try:
        rows = [measure(server, make(), args.repeat) for make in CASES + KEYLESS]
        cutoffs, health_max_ms = measure_slow_clients(server)
    finally:
        server.stop()
    print(format_table(rows))
    print()
    print(format_cutoffs(cutoffs, health_max_ms))
    if args.json:
        requests, slow = [asdict(r) for r in rows], [asdict(c) for c in cutoffs]
        print(json.dumps({"requests": requests, "slow": slow, "health_max_ms": health_max_ms}))


if __name__ == "__main__":
    main()
