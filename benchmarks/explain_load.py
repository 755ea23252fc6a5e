"""What plain predictions lose while explanations run: the short-64 scenario of
`python -m benchmarks`, alone and beside a stream of explain requests.

    python -m benchmarks.explain_load --model-dir DIR [--duration 10] [--streams 1]
        [--explain-text review|short]

Starts `python -m service` on a free loopback port, runs wrk (short texts, 64 connections)
once alone, then again while `--streams` clients each post explain requests back to back (a
300-word review, or a short text), and prints both runs and the explanations answered meanwhile.
"""

import argparse
import json
import random
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks.loadgen import require_wrk, run_wrk
from benchmarks.scenarios import SHORT_TEXTS, all_scenarios, make_review
from benchmarks.servers import service_server


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.explain_load")
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before a run")
    parser.add_argument("--streams", type=int, default=1, help="clients posting explanations")
    parser.add_argument("--explain-text", choices=["review", "short"], default="review")
    return parser.parse_args()


class ExplainStream:
    """Clients that post explain requests back to back until stopped; counts the answers."""

    def __init__(self, url: str, text: str, clients: int) -> None:
        self.body = json.dumps({"text": text, "explain": True}).encode()
        self.url, self.clients = url + "/sentiment", clients
        self.statuses: dict[int, int] = {}
        self.seconds: list[float] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _run(self) -> None:
        headers = {"Content-Type": "application/json"}
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                request = urllib.request.Request(self.url, self.body, headers)
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
                time.sleep(0.05)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200:
                self.seconds.append(time.perf_counter() - started)

    def __enter__(self) -> "ExplainStream":
        self._threads = [threading.Thread(target=self._run) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)


def main() -> None:
    args = parse_args()
    require_wrk()
    scenario = all_scenarios()["short-64"]
    text = make_review(random.Random(0), 300) if args.explain_text == "review" else SHORT_TEXTS[0]
    with tempfile.TemporaryDirectory(prefix="explain-load-") as tmp:
        work = Path(tmp)
        # Every stream comes from one address, one caller: let each have its explanation in.
        env = {"LOG_LEVEL": "warning", "EXPLAIN_CALLER_MAX": str(max(2, args.streams))}
        server = service_server(args.model_dir, env, work / "service.log")
        server.start(timeout=600)
        try:
            runs = {}
            for name in ("alone", "with explanations"):
                stream = ExplainStream(server.url, text, args.streams if name != "alone" else 0)
                with stream:
                    run_wrk(server.url, scenario, args.warmup, work / "w.lua")
                    stream.statuses.clear()
                    stream.seconds.clear()
                    started = time.perf_counter()
                    result = run_wrk(server.url, scenario, args.duration, work / "s.lua")
                    elapsed = time.perf_counter() - started
                    explained = len(stream.seconds)
                runs[name] = result
                line = (
                    f"short-64 {name}: {result.requests_per_second:.0f} req/s, "
                    f"p50 {result.latency_ms['50']:.1f} ms, p99 {result.latency_ms['99']:.1f} ms, "
                    f"{result.errors} errors"
                )
                if args.streams and name != "alone":
                    mean = sum(stream.seconds) / explained if explained else float("nan")
                    statuses = dict(sorted(stream.statuses.items()))
                    line += (
                        f"; explanations ({args.explain_text}): {explained / elapsed:.2f}/s, "
                        f"mean {mean * 1e3:.0f} ms, statuses {statuses}"
                    )
                print(line, flush=True)
        finally:
            server.stop()
    alone, loaded = runs["alone"], runs["with explanations"]
    loss = 1 - loaded.requests_per_second / alone.requests_per_second
    print(f"plain short-64 throughput lost while explanations run: {loss:.0%}")


if __name__ == "__main__":
    main()
