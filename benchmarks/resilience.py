"""Resilience of the service: a flood, hot reloads under load, a broken version under load.

    python -m benchmarks.resilience [--model-dir model] [--flood-seconds 15] [--reloads 5]

Starts `python -m service` (MODEL_POLL_SECONDS=1) on a free loopback port, on a private copy of
the newest version in the model store, and loads it with wrk:
1. flood: 128 connections post reviews to /sentiment, one or sixteen a request (enough texts to
   fill the queue): only 200 or 503 with Retry-After, peak memory, healthy afterwards;
2. reloads: 8 connections on /sentiment and /next-word while the version is copied N times under
   new numbers (staged in a hidden directory, then renamed, as training exports): no failed
   request, the time until each copy is served, memory after each;
3. broken: a version with a garbage SavedModel under the same load: no failed request, the old
   version keeps serving, the skip is logged.
Prints tables, writes JSON to benchmarks/results/, exits 1 if a check fails.
"""

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.loadgen import parse_wrk, require_wrk
from benchmarks.probes import machine
from benchmarks.scenarios import make_review
from benchmarks.servers import Server, http_get, process_tree, service_server

RESULTS = Path(__file__).parent / "results"
MODELS = ("sentiment", "next_word")
CLIENT_TIMEOUT = 35  # seconds: beyond the service's REQUEST_TIMEOUT_SECONDS (30) and its 503
# wrk script: POST each (path, body) in turn, count statuses (a 503 without Retry-After apart)
# and the model_version of the answers; done() prints every thread's counts as tab-separated lines.
LUA = """local requests = {{
{requests}
}}
local headers, threads, i = {{ ["Content-Type"] = "application/json" }}, {{}}, 0
statuses, versions = {{}}, {{}}
function setup(thread) table.insert(threads, thread) end
function request()
  i = i % #requests + 1
  return wrk.format("POST", requests[i][1], headers, requests[i][2])
end
function response(status, hdrs, body)
  local key = tostring(status)
  if status == 503 and not (hdrs["retry-after"] or hdrs["Retry-After"]) then
    key = "503 without Retry-After"
  end
  statuses[key] = (statuses[key] or 0) + 1
  local v = string.match(body, '"model_version":"([^"]*)"')
  if v then versions[v] = (versions[v] or 0) + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for k, n in pairs(t:get("statuses")) do io.write("status\\t", k, "\\t", n, "\\n") end
    for k, n in pairs(t:get("versions")) do io.write("version\\t", k, "\\t", n, "\\n") end
  end
end
"""


def tree_vmrss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants (/proc/PID/status), in MiB."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue  # it exited meanwhile
        total_kb += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return total_kb / 1024


@contextmanager
def peak_rss(pid: int, every: float = 0.1) -> Iterator[dict[str, float]]:
    """`with peak_rss(pid) as rss:` samples the tree's VmRSS in the background; `rss["peak_mb"]`."""
    rss, stop = {"peak_mb": 0.0}, threading.Event()

    def sample() -> None:
        while True:
            rss["peak_mb"] = max(rss["peak_mb"], tree_vmrss_mb(pid))
            if stop.wait(every):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield rss
    finally:
        stop.set()
        sampler.join()


def add_version(store: Path, source: int, version: int, broken: bool = False) -> None:
    """Version `source` of both models again as `version` (garbage if `broken`), staged in a
    hidden directory beside its final place and renamed into it."""
    for name in MODELS:
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=store / name))
        if broken:
            (staging / "saved_model.pb").write_bytes(b"\x00 not a SavedModel \xff" * 64)
            (staging / "metadata.json").write_text(json.dumps({"name": name, "version": version}))
        else:
            shutil.copytree(store / name / str(source), staging, dirs_exist_ok=True)
        os.chmod(staging, 0o755)
        os.rename(staging, store / name / str(version))


def newest_version(store: Path) -> int:
    """The highest version number both models have; ValueError if there is none."""
    found = [{int(p.name) for p in (store / n).glob("[0-9]*") if p.name.isdigit()} for n in MODELS]
    return max(found[0] & found[1])


def served_versions(url: str) -> dict[str, str]:
    """Model name -> the version /models reports as served."""
    status, text = http_get(url + "/models")
    return {m["name"]: m["version"] for m in json.loads(text)["models"]} if status == 200 else {}


def post_status(url: str, body: dict, timeout: float = 60.0) -> int:
    """Status of a JSON POST; 0 when nothing answers."""
    data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=timeout):
            return 200
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` every 0.1 s; False if it still fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def logged(server: Server, *texts: str) -> bool:
    """Whether the service logged each of `texts` as a whole message or as its first words."""
    messages = set()
    for line in server.log.read_text(errors="replace").splitlines():
        try:
            messages.add(json.loads(line)["message"])
        except (ValueError, TypeError, KeyError):
            continue  # not a JSON log line (TensorFlow's own output)
    return all(any(m == t or m.startswith(t + " ") for m in messages) for t in texts)


class Load:
    """`with Load(...) as load:` wrk posts (path, body) pairs in turn over `connections` until the
    block ends (10 minutes at most); then `load.result` holds what it measured."""

    def __init__(self, url: str, requests: list[tuple[str, dict]], connections: int, work: Path):
        script = work / f"load-{connections}.lua"
        rows = ",\n".join(f'  {{"{path}", [==[{json.dumps(b)}]==]}}' for path, b in requests)
        script.write_text(LUA.format(requests=rows))
        self.command = [require_wrk(), "--threads=1", f"--connections={connections}", "--latency"]
        self.command += [f"--timeout={CLIENT_TIMEOUT}s", f"--script={script}", "--duration=600s"]
        self.command.append(url + "/")
        self.result: dict = {}

    def __enter__(self) -> "Load":
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGINT)  # wrk stops, then reports
        output, _ = self.process.communicate(timeout=CLIENT_TIMEOUT + 30)
        self.result = parse_report(output)


def parse_report(output: str) -> dict:
    """wrk's report, plus the statuses and versions the script counted; `failed`: every answer
    but 200, and every socket error."""
    wrk = parse_wrk(output)
    counts: dict[str, dict[str, int]] = {"status": {}, "version": {}}
    for kind, key, n in (line.split("\t") for line in output.splitlines() if "\t" in line):
        counts[kind][key] = counts[kind].get(key, 0) + int(float(n))
    statuses, sockets = counts["status"], sum(wrk.socket_errors.values())
    return {
        "requests": wrk.requests,
        "seconds": wrk.seconds,
        "latency_ms": wrk.latency_ms,
        "statuses": statuses,
        "socket_errors": wrk.socket_errors,
        "failed": sum(n for status, n in statuses.items() if status != "200") + sockets,
        "versions": counts["version"],
    }


def steady_requests() -> list[tuple[str, dict]]:
    """Both endpoints, short and review-length texts."""
    rng = random.Random(1)
    return [
        ("/sentiment", {"text": make_review(rng)}),
        ("/next-word", {"text": "i love this", "top_k": 5}),
        ("/sentiment", {"text": "a great movie"}),
        ("/next-word", {"text": make_review(rng, 40), "top_k": 10}),
    ]


def flood(server: Server, seconds: float, work: Path) -> dict:
    """128 connections of reviews, one or sixteen a request in turn; then the health checks."""
    rng = random.Random(0)
    requests: list[tuple[str, dict]] = []
    for _ in range(4):
        requests.append(("/sentiment", {"text": make_review(rng)}))
        requests.append(("/sentiment", {"texts": [make_review(rng) for _ in range(16)]}))
    with peak_rss(server.pid) as rss, Load(server.url, requests, 128, work) as load:
        time.sleep(seconds)
    started = time.perf_counter()  # this answer waits behind what the flood left queued
    after = {"sentiment": post_status(server.url + "/sentiment", {"text": "a great movie"})}
    after["seconds_to_answer"] = round(time.perf_counter() - started, 2)
    after |= {path: http_get(f"{server.url}/{path}")[0] for path in ("health", "ready")}
    rss_after = tree_vmrss_mb(server.pid)
    return load.result | {"peak_rss_mb": rss["peak_mb"], "rss_after_mb": rss_after, "after": after}


def reloads(server: Server, store: Path, count: int, work: Path) -> dict:
    """Copy the version `count` times under load; time each until /models serves it; RSS after
    each, once the version it replaced is released."""
    source, steps = newest_version(store), []
    with peak_rss(server.pid) as rss, Load(server.url, steady_requests(), 8, work) as load:
        time.sleep(2)  # answers from the first version too
        for version in range(source + 1, source + 1 + count):
            started = time.perf_counter()
            add_version(store, source, version)
            want = dict.fromkeys(MODELS, str(version))
            served = wait_until(lambda w=want: served_versions(server.url) == w, 120)
            seconds = time.perf_counter() - started
            gone = [f"released {name} version {version - 1}" for name in MODELS]
            released = wait_until(lambda g=gone: logged(server, *g), 30)
            step = {"version": version, "served": served, "released": released, "seconds": seconds}
            steps.append(step | {"rss_mb": tree_vmrss_mb(server.pid)})
        time.sleep(2)  # answers from the last version too
    return load.result | {"peak_rss_mb": rss["peak_mb"], "steps": steps}


def broken(server: Server, store: Path, work: Path) -> dict:
    """A garbage version under load: the skip is logged and the old version keeps serving."""
    old = newest_version(store)
    lines = [f"skipping {name} version {old + 1}" for name in MODELS]
    with peak_rss(server.pid) as rss, Load(server.url, steady_requests(), 8, work) as load:
        time.sleep(2)
        add_version(store, old, old + 1, broken=True)
        seen = wait_until(lambda: logged(server, *lines), 60)
        time.sleep(3)  # a few more checks of the store while the load goes on
        served = served_versions(server.url)
    figures = {"peak_rss_mb": rss["peak_mb"], "old_version": str(old), "served_after": served}
    return load.result | figures | {"skip_logged": seen}


def checks(report: dict, count: int) -> list[dict]:
    """Each promise the run tests: what, what was measured, whether it held."""
    f, r, b = report["flood"], report["reload"], report["broken"]
    other = {k: n for k, n in f["statuses"].items() if k not in ("200", "503")}
    sockets = sum(f["socket_errors"].values())
    healthy = all(f["after"][k] == 200 for k in ("sentiment", "health", "ready"))
    rss = [step["rss_mb"] for step in r["steps"]]
    growth = statistics.linear_regression(range(len(rss)), rss).slope if len(rss) > 1 else 0.0
    served = sum(step["served"] and step["released"] for step in r["steps"])
    old = b["old_version"]
    kept = set(b["versions"]) == {old} and set(b["served_after"].values()) == {old}
    rows = [
        ("flood: only 200, or 503 with Retry-After", json.dumps(f["statuses"]), not other),
        ("flood: no socket errors", sockets, sockets == 0),
        ("flood: /sentiment, /health, /ready answer 200 after", json.dumps(f["after"]), healthy),
        ("reload: no failed request", r["failed"], r["failed"] == 0),
        ("reload: each copy served, the one before released", f"{served}/{count}", served == count),
        ("reload: RSS trend < 20 MB a reload", f"{growth:+.1f} MB", growth < 20),
        ("broken: no failed request", b["failed"], b["failed"] == 0),
        ("broken: skip logged for both models", b["skip_logged"], b["skip_logged"]),
        ("broken: old version keeps serving", json.dumps(b["versions"]), kept),
        ("SIGTERM at the end: exit status 0", report["exit_status"], report["exit_status"] == 0),
    ]
    return [{"check": c, "measured": str(m), "passed": bool(p)} for c, m, p in rows]


def format_report(report: dict) -> str:
    """The phases, each reload and the checks as Markdown tables."""
    lines = [
        "| phase | requests | statuses | socket errors | p50 ms | p99 ms | peak RSS MB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    titles = {
        "flood": "flood, 128 conns",
        "reload": "reloads, 8 conns",
        "broken": "broken, 8 conns",
    }
    for phase, title in titles.items():
        p, latency = report[phase], report[phase]["latency_ms"]
        statuses = ", ".join(f"{k}: {n}" for k, n in sorted(p["statuses"].items()))
        lines.append(
            f"| {title} | {p['requests']} | {statuses} | {sum(p['socket_errors'].values())} "
            f"| {latency['50']:.0f} | {latency['99']:.0f} | {p['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"RSS: {report['rss_ready_mb']:.0f} MB when ready, {report['flood']['rss_after_mb']:.0f}"
        f" MB after the flood; answers by version during the reloads: "
        f"{json.dumps(report['reload']['versions'])}",
        "",
        "| reload to version | served after s | RSS after MB |",
        "| ---: | ---: | ---: |",
    ]
    for step in report["reload"]["steps"]:
        served = f"{step['seconds']:.1f}" if step["served"] else "never"
        lines.append(f"| {step['version']} | {served} | {step['rss_mb']:.0f} |")
    lines += ["", "| check | measured | passed |", "| --- | --- | --- |"]
    for c in report["checks"]:
        lines.append(f"| {c['check']} | {c['measured']} | {'yes' if c['passed'] else 'NO'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.resilience", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--flood-seconds", type=float, default=15.0, help="length of the flood")
    parser.add_argument("--reloads", type=int, default=5, help="new versions to copy in")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if args.reloads < 1 or not 1 <= args.flood_seconds <= 300:
        parser.error("--reloads must be at least 1 and --flood-seconds within 1..300")
    try:
        source = newest_version(args.model_dir)
    except ValueError:
        parser.error(f"no version of both models in {args.model_dir}: train one first")
    require_wrk()
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "benchmarks.resilience", *sys.argv[1:]]),
        "machine": machine(),
        "model_dir": str(args.model_dir.resolve()),
        "source_version": source,
    }
    with tempfile.TemporaryDirectory(prefix="resilience-") as tmp:
        work, store = Path(tmp), Path(tmp) / "model"
        for name in MODELS:  # only the newest version: the copies are made of it
            shutil.copytree(args.model_dir / name / str(source), store / name / str(source))
        server = service_server(store, {"MODEL_POLL_SECONDS": "1"}, work / "service.log")
        try:
            server.start()
            report["rss_ready_mb"] = tree_vmrss_mb(server.pid)
            print(f"service ready in {server.ready_seconds:.1f} s; flood", flush=True)
            report["flood"] = flood(server, args.flood_seconds, work)
            print(f"{args.reloads} reloads under load", flush=True)
            report["reload"] = reloads(server, store, args.reloads, work)
            print("a broken version under load", flush=True)
            report["broken"] = broken(server, store, work)
        finally:
            server.stop()
        report["exit_status"] = server.process.returncode if server.process else None
    report["machine"]["loadavg_end"] = machine()["loadavg"]
    report["checks"] = checks(report, args.reloads)
    print("\n" + format_report(report))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"resilience-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {path}")
    sys.exit(0 if all(c["passed"] for c in report["checks"]) else 1)


if __name__ == "__main__":
    main()
