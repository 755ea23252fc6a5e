"""Replicas behind HAProxy: traffic share, SIGTERM, a model rollout and kill -9, under load.

    python -m benchmarks.replicas [--model-dir model] [--replicas 2] [--connections 32]
                                  [--steady-seconds 10]

Starts N `python -m service` processes on loopback sharing one model store (a private copy of
the newest version in --model-dir), HAProxy in front of them with deploy/haproxy/haproxy.cfg,
and keeps --connections connections busy with mixed requests (/sentiment, /next-word, /v2 infer
of both models) through the balancer for the whole run:
1. steady: every replica's share of the requests after a warm-up, from each replica's /metrics;
2. rollout: a new version written into the shared store reaches every replica;
3. SIGTERM to the last replica: it reports not-ready, HAProxy marks it down, it drains and
   exits 0; then it is started again;
4. kill -9 of the first replica: the requests it held at that moment, the seconds until HAProxy
   marks it down, and whether any request reached it after that.
Prints tables, writes JSON to benchmarks/results/, exits 1 if a check fails.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.balancer import Balancer, MixedLoad, Record, require_haproxy
from benchmarks.probes import machine
from benchmarks.resilience import MODELS, add_version, newest_version, served_versions
from benchmarks.servers import HOST, Server, free_port, metric_samples

RESULTS = Path(__file__).parent / "results"
DRAIN_SECONDS = 3.0  # > HAProxy's 2 failed checks (1 s, then 0.5 s apart) to mark a server down
DOWN_WITHIN = 2.0  # fall 2 x inter 1 s: the balancer's check interval bound
# Before the steady share is measured: the load's first requests meet each replica's first
# model calls, and on a busy machine one replica can take seconds longer over them.
WARMUP_SECONDS = 2.0
PREDICTION_ROUTES = ("/sentiment", "/next-word", "/v2/models/{name}/infer")


def replica(name: str, store: Path, port: int, work: Path) -> Server:
    """`python -m service` on the shared store, polling it twice a second."""
    env = {"MODEL_DIR": str(store), "HOST": HOST, "PORT": str(port), "MODEL_POLL_SECONDS": "0.5"}
    env["DRAIN_SECONDS"] = str(DRAIN_SECONDS)
    command = [sys.executable, "-m", "service"]
    return Server(name, command, env, port, work / f"{name}-{time.time_ns()}.log")


def answered(server: Server) -> float:
    """Prediction requests the replica has answered, from its /metrics."""
    samples = metric_samples(server.metrics())
    return sum(
        value
        for key, value in samples.items()
        if key.startswith("http_requests_total{")
        and any(f'route="{r}"' in key for r in PREDICTION_ROUTES)
    )


def failures(records: list[Record], start: float, end: float) -> list[Record]:
    """Requests in flight at some moment of [start, end) that got no 200 (a request held by a
    replica when it is killed started before the kill)."""
    return [r for r in records if r.started < end and r.ended >= start and r.status != 200]


def start_all(servers: list[Server], timeout: float = 600) -> None:
    """Start the replicas side by side (each loads both models) and wait until all are ready."""
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.start(timeout), servers))


def run(model_dir: Path, count: int, connections: int, steady: float, work: Path) -> dict:
    """The four phases; returns the report (without checks)."""
    source = newest_version(model_dir)
    store = work / "model"
    for name in MODELS:
        shutil.copytree(model_dir / name / str(source), store / name / str(source))
    ports = {f"r{i + 1}": free_port() for i in range(count)}
    servers = {name: replica(name, store, port, work) for name, port in ports.items()}
    balancer = Balancer(ports, work)
    report: dict = {"replicas": count, "connections": connections, "source_version": source}
    try:
        start_all(list(servers.values()))
        balancer.start()
        for name in servers:
            assert balancer.wait_status(name, "UP", 30) is not None, f"{name} never UP"
        print(f"{count} replicas and HAProxy up; {connections} connections", flush=True)
        with MixedLoad(balancer.url, connections) as load:
            time.sleep(WARMUP_SECONDS)
            report["steady"] = measure_share(servers, steady)
            print("rollout of a new version", flush=True)
            report["rollout"] = rollout(servers, store, source, load)
            last = list(servers)[-1]
            print(f"SIGTERM to {last}", flush=True)
            report["sigterm"] = sigterm(servers, last, balancer)
        # The stopped replica starts again without load: on 2 cores a model load beside 32
        # busy connections takes minutes, and the restart is not what is measured.
        servers[last] = replica(last, store, ports[last], work)
        servers[last].start(timeout=600)
        report["sigterm"]["seconds_back_up"] = balancer.wait_status(last, "UP", 30)
        with MixedLoad(balancer.url, connections) as again:
            time.sleep(2.0)
            print("kill -9 of r1", flush=True)
            report["kill"] = kill(servers, "r1", balancer)
        records = load.records + again.records
    finally:
        balancer.stop()
        for server in servers.values():
            server.stop()
    report["requests"] = len(records)
    report["failed"] = sum(r.status != 200 for r in records)
    report["statuses"] = count_by(str(r.status) for r in records)
    report["kinds"] = count_by(r.kind for r in records)
    report["seconds"] = round(max(r.ended for r in records) - min(r.started for r in records), 1)
    for phase in ("rollout", "sigterm", "kill"):
        window = report[phase].pop("window")
        report[phase]["failed"] = len(failures(records, *window))
    report["balancer_retries"] = report["kill"].pop("retries")
    return report


def count_by(keys: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in keys:  # type: ignore[attr-defined]
        counts[key] = counts.get(key, 0) + 1
    return counts


def measure_share(servers: dict[str, Server], seconds: float) -> dict:
    """Each replica's share of the prediction requests over `seconds`."""
    before = {name: answered(s) for name, s in servers.items()}
    time.sleep(seconds)
    done = {name: answered(s) - before[name] for name, s in servers.items()}
    total = sum(done.values()) or 1
    return {
        "seconds": seconds,
        "answered": done,
        "share": {n: round(v / total, 3) for n, v in done.items()},
    }


def rollout(servers: dict[str, Server], store: Path, source: int, load: MixedLoad) -> dict:
    """Write version source+1 into the store; wait until every replica serves it."""
    started = time.time()
    new = str(source + 1)
    add_version(store, source, source + 1)
    deadline = time.monotonic() + 300  # minutes on a saturated machine, seconds otherwise
    reached: dict[str, float] = {}
    while len(reached) < len(servers) and time.monotonic() < deadline:
        for name, server in servers.items():
            if name not in reached and set(served_versions(server.url).values()) == {new}:
                reached[name] = round(time.time() - started, 2)
        time.sleep(0.1)
    time.sleep(1.0)  # answers from the new version on every path
    after = [
        r.version for r in load.records if r.started > started + max(reached.values(), default=0)
    ]
    return {
        "version": new,
        "seconds_to_serve": reached,
        "answers_after_by_version": count_by(v for v in after if v),
        "window": (started, time.time()),
    }


def sigterm(servers: dict[str, Server], name: str, balancer: Balancer) -> dict:
    """SIGTERM one replica under load; time its removal from the balancer and its exit."""
    server = servers[name]
    assert server.process is not None
    started = time.time()
    os.killpg(server.process.pid, signal.SIGTERM)
    down = balancer.wait_status(name, "DOWN", 60)
    exit_status = server.process.wait(60)
    exited = time.time() - started
    time.sleep(1.0)  # requests sent just after the exit count too
    return {
        "seconds_to_down": None if down is None else round(down, 2),
        "seconds_to_exit": round(exited, 2),
        "exit_status": exit_status,
        "window": (started, time.time()),
    }


def kill(servers: dict[str, Server], name: str, balancer: Balancer) -> dict:
    """kill -9 one replica under load: what it held, how fast the balancer drops it."""
    server = servers[name]
    assert server.process is not None
    held = int(balancer.stats()[name]["scur"] or 0)
    started = time.time()
    os.killpg(server.process.pid, signal.SIGKILL)
    down = balancer.wait_status(name, "DOWN", 10)
    at_down = balancer.stats()[name]
    time.sleep(3.0)
    later = balancer.stats()
    server.process.wait(10)
    return {
        "held_at_kill": held,
        "seconds_to_down": None if down is None else round(down, 2),
        "sessions_after_down": int(later[name]["stot"] or 0) - int(at_down["stot"] or 0),
        "retries": {
            n: {"retried": int(r["wretr"] or 0), "redispatched": int(r["wredis"] or 0)}
            for n, r in later.items()
        },
        "window": (started, time.time()),
    }


def check(name: str, measured: str, passed: bool) -> dict:
    return {"check": name, "measured": measured, "passed": bool(passed)}


def checks(report: dict) -> list[dict]:
    """The properties the run must show."""
    share, roll, term, kill = (report[k] for k in ("steady", "rollout", "sigterm", "kill"))
    share = share["share"]
    answers = roll["answers_after_by_version"]
    down, held = kill["seconds_to_down"], kill["held_at_kill"]
    return [
        check("every replica takes traffic", json.dumps(share), min(share.values()) > 0.1),
        check(
            "the new version reaches every replica, no failed request",
            f"served after {roll['seconds_to_serve']} s; answers after: {answers}; "
            f"failed {roll['failed']}",
            len(roll["seconds_to_serve"]) == report["replicas"]
            and set(answers) == {roll["version"]}
            and roll["failed"] == 0,
        ),
        check(
            "SIGTERM: marked down before it exits, exit 0, no failed request",
            f"down after {term['seconds_to_down']} s, exit {term['exit_status']} after "
            f"{term['seconds_to_exit']} s, failed {term['failed']}",
            term["seconds_to_down"] is not None
            and term["seconds_to_down"] < term["seconds_to_exit"]
            and term["exit_status"] == 0
            and term["failed"] == 0,
        ),
        check(
            f"kill -9: failed <= held, down within {DOWN_WITHIN:g} s, nothing sent after",
            f"failed {kill['failed']}, held {held}, down after {down} s, "
            f"sessions after down {kill['sessions_after_down']}",
            kill["failed"] <= held
            and down is not None
            and down <= DOWN_WITHIN
            and kill["sessions_after_down"] == 0,
        ),
    ]


def format_report(report: dict) -> str:
    """The run's figures and checks as Markdown tables."""
    steady, roll, term, kill = (report[k] for k in ("steady", "rollout", "sigterm", "kill"))
    lines = [
        f"{report['requests']} requests in {report['seconds']} s, {report['connections']} "
        f"connections through HAProxy to {report['replicas']} replicas; not 200: "
        f"{report['failed']} (statuses {json.dumps(report['statuses'])})",
        f"requests by kind: {json.dumps(report['kinds'])}",
        "",
        f"| replica | answered in the steady {steady['seconds']:g} s | share |",
        "| --- | ---: | ---: |",
    ]
    for name, count in steady["answered"].items():
        lines.append(f"| {name} | {count:.0f} | {steady['share'][name]:.1%} |")
    lines += [
        "",
        "| event | failed requests | figures |",
        "| --- | ---: | --- |",
        f"| rollout to version {roll['version']} | {roll['failed']} "
        f"| served after (s): {json.dumps(roll['seconds_to_serve'])} |",
        f"| SIGTERM | {term['failed']} | marked down after {term['seconds_to_down']} s, "
        f"exited {term['exit_status']} after {term['seconds_to_exit']} s |",
        f"| kill -9 | {kill['failed']} | held {kill['held_at_kill']}, marked down after "
        f"{kill['seconds_to_down']} s, sessions after down: {kill['sessions_after_down']} |",
        "",
        f"balancer retries: {json.dumps(report['balancer_retries'])}",
        "",
        "| check | measured | passed |",
        "| --- | --- | --- |",
    ]
    for c in report["checks"]:
        lines.append(f"| {c['check']} | {c['measured']} | {'yes' if c['passed'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replicas", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--replicas", type=int, default=2, help="service processes (at least 2)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--steady-seconds", type=float, default=10.0, help="length of phase 1")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.replicas < 2 or args.connections < 1:
        parser.error("--replicas must be at least 2, --connections at least 1")
    try:
        newest_version(args.model_dir)
    except ValueError:
        parser.error(f"no version of both models in {args.model_dir}: train one first")
    require_haproxy()
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(
            ["python", "-m", "benchmarks.replicas", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": machine(),
    }
    work = Path(tempfile.mkdtemp(prefix="replicas-"))
    try:
        report |= run(args.model_dir, args.replicas, args.connections, args.steady_seconds, work)
    except Exception:
        print(f"failed; the logs are in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work)
    report["checks"] = checks(report)
    print("\n" + format_report(report))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"replicas-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {path}")
    return report


if __name__ == "__main__":
    sys.exit(0 if all(c["passed"] for c in main()["checks"]) else 1)
