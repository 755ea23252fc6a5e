"""HAProxy in front of service replicas on loopback, and a closed-loop load of mixed requests.

`Balancer` runs the project's deploy/haproxy/haproxy.cfg with a servers file naming the replicas
and reads the balancer's own view of them (status, sessions, totals) from its CSV statistics.
`MixedLoad` keeps N connections busy with /sentiment, /next-word and /v2 requests in turn, and
records each request's start, end and outcome, so that failures can be placed in time.
"""

import csv
import http.client
import io
import json
import os
import random
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.scenarios import make_review
from benchmarks.servers import HOST, free_port, http_get

ROOT = Path(__file__).resolve().parents[1]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
INSTALL_HINT = "haproxy is not installed: `sudo apt-get install -y haproxy` (Debian/Ubuntu)"


def require_haproxy() -> str:
    """The path of haproxy, or SystemExit saying how to install it."""
    path = shutil.which("haproxy")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


class Balancer:
    """haproxy -f deploy/haproxy/haproxy.cfg -f <servers>, on free loopback ports."""

    def __init__(self, replicas: dict[str, int], work: Path) -> None:
        self.port, self.stats_port = free_port(), free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.servers = work / "servers.cfg"
        lines = [f"    server {name} {HOST}:{port}" for name, port in replicas.items()]
        self.servers.write_text("backend api\n" + "\n".join(lines) + "\n")
        self.log = work / "haproxy.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start haproxy in the foreground and wait until it answers."""
        env = os.environ | {
            "LB_ADDR": f"{HOST}:{self.port}",
            "STATS_ADDR": f"{HOST}:{self.stats_port}",
        }
        command = [require_haproxy(), "-db", "-f", str(HAPROXY_CONFIG), "-f", str(self.servers)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while http_get(f"http://{HOST}:{self.stats_port}/healthz", 1.0)[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stats(self) -> dict[str, dict[str, str]]:
        """Server name -> its row of the statistics CSV (status, scur, stot, wretr, ...)."""
        status, text = http_get(f"http://{HOST}:{self.stats_port}/stats;csv", 2.0)
        if status != 200:
            return {}
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            r["svname"]: r
            for r in rows
            if r["pxname"] == "api" and r["svname"] not in ("BACKEND", "FRONTEND")
        }

    def wait_status(self, server: str, wanted: str, timeout: float) -> float | None:
        """Seconds until haproxy reports `server` as `wanted` (UP, DOWN...); None past timeout."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.stats().get(server, {}).get("status", "").startswith(wanted):
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class Record:
    """One request: when it started and ended (time.time()), what it was, how it ended."""

    started: float
    ended: float
    kind: str
    status: int  # 0: no HTTP answer (connection error or timeout)
    version: str | None


def mixed_requests() -> list[tuple[str, str, bytes]]:
    """(kind, path, JSON body): both native endpoints and both models through /v2."""
    rng = random.Random(2)
    v2 = {"inputs": [{"name": "texts", "shape": [2], "datatype": "BYTES", "data": []}]}
    v2["inputs"][0]["data"] = ["a great movie", make_review(rng, 60)]
    requests = [
        ("sentiment", "/sentiment", {"text": make_review(rng)}),
        ("next-word", "/next-word", {"text": "i love this", "top_k": 5}),
        ("v2 sentiment", "/v2/models/sentiment/infer", v2),
        ("sentiment batch", "/sentiment", {"texts": ["dull", "fun", make_review(rng, 40)]}),
        ("v2 next_word", "/v2/models/next_word/infer", {**v2, "parameters": {"top_k": 3}}),
    ]
    return [(kind, path, json.dumps(body).encode()) for kind, path, body in requests]


class MixedLoad:
    """`with MixedLoad(url, 32) as load:` each connection posts the mixed requests in turn."""

    def __init__(self, url: str, connections: int, timeout: float = 60.0) -> None:
        self.host, self.port = url.removeprefix("http://").split(":")
        self.connections, self.timeout = connections, timeout
        self.records: list[Record] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "MixedLoad":
        for index in range(self.connections):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def _run(self, index: int) -> None:
        requests = mixed_requests()
        connection = http.client.HTTPConnection(self.host, int(self.port), timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        turn = index
        while not self._stop.is_set():
            kind, path, body = requests[turn % len(requests)]
            turn += 1
            started, status, version = time.time(), 0, None
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                answer = response.read()
                status = response.status
                version = json.loads(answer).get("model_version") if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                connection.close()  # reconnects on the next request
            self.records.append(Record(started, time.time(), kind, status, version))
