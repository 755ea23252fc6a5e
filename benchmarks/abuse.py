"""What requests built to cost far more than their size cost a real service process.

    python -m benchmarks.abuse [--model-dir model] [--repeat 10] [--json]

Starts `python -m service` on a free loopback port and sends each bad request of `CASES`: for
each it prints the server's CPU time per request (its process tree's, from /proc, over
`--repeat` runs one after the other), the status and size of the answer, the growth of the
server's resident memory (its peak during those runs, sampled every 10 ms, over its size
before) and the slowest `/health` answer during `--repeat` more runs (polled without pause from
another connection).
"""

import argparse
import json
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import orjson

from benchmarks.servers import Server, service_server, tree_rss_bytes

JSON = {"content-type": "application/json"}


@dataclass
class Case:
    """A bad request: its path, body and headers."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]


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
    with httpx.Client(base_url=server.url, timeout=60) as client:
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.abuse", description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    log = Path(tempfile.mkdtemp(prefix="abuse-")) / "service.log"
    server = service_server(args.model_dir, {"LOG_LEVEL": "warning"}, log)
    server.start()
    try:
        rows = [measure(server, make(), args.repeat) for make in CASES]
    finally:
        server.stop()
    print(format_table(rows))
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))


if __name__ == "__main__":
    main()
