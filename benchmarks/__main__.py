"""Benchmark the service against one-call-per-request serving and the in-process floor.

    python -m benchmarks [--model-dir model] [--duration 10] [--scenarios short-1,short-64,...]
    python -m benchmarks keystrokes [--model-dir model] ...   (see SUBCOMMANDS)

Measures the floor (the models called in-process), then starts `python -m service` and the
baseline app of `benchmarks.baseline` as subprocesses on free loopback ports, loads each with wrk
in every scenario (a warm-up first; the two servers one after the other, so that both see the
same machine), prints the tables and the targets, and writes everything as JSON to
benchmarks/results/.
"""

import argparse
import importlib
import json
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import probes
from benchmarks.loadgen import require_wrk, run_wrk
from benchmarks.report import check_targets, format_report
from benchmarks.scenarios import Scenario, all_scenarios
from benchmarks.servers import Server, baseline_server, batching_figures, service_server

RESULTS = Path(__file__).parent / "results"
# Benchmarks of their own, run as `python -m benchmarks <name> [options]`: each module's `main`
# takes the options.
SUBCOMMANDS = {"keystrokes": "benchmarks.keystrokes"}
# Service log lines that mark its start-up phases.
STARTUP_MARKS = {
    "imported": "Started server process",
    "sentiment_loaded": "serving sentiment version",
    "next_word_loaded": "serving next_word version",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = list(all_scenarios())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before a run")
    parser.add_argument(
        "--scenarios", default=",".join(names), help=f"comma-separated, of: {', '.join(names)}"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a service setting for this run (repeatable), e.g. --env LOG_LEVEL=warning",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := [s for s in args.scenarios if s not in names]:
        parser.error(f"unknown scenarios {unknown}; choose from {', '.join(names)}")
    if bad := [e for e in args.env if "=" not in e]:
        parser.error(f"--env takes KEY=VALUE, not {bad}")
    args.env = dict(e.split("=", 1) for e in args.env)
    if not any((args.model_dir / "sentiment").glob("[0-9]*")):
        parser.error(f"no model in {args.model_dir}: train one first (make train-quick)")
    return args


def measure_floor(model_dir: Path, scenarios: list[str]) -> dict:
    """Run benchmarks.floor in a fresh process (before any server is up) and read its JSON."""
    command = [sys.executable, "-m", "benchmarks.floor", "--model-dir", str(model_dir)]
    command += ["--scenarios", ",".join(scenarios)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"floor measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def load(server: Server, scenario: Scenario, args: argparse.Namespace, work: Path) -> dict:
    """A warm-up, then one measured wrk run, with CPU use and (service) batching over it."""
    script = work / f"{scenario.name}.lua"
    run_wrk(server.url, scenario, args.warmup, script)
    metrics_before = server.metrics() if scenario.model else ""
    before = [probes.busy_seconds(), server.cpu_seconds(), probes.children_cpu_seconds()]
    started = time.perf_counter()
    result = run_wrk(server.url, scenario, args.duration, script)
    elapsed = time.perf_counter() - started
    after = [probes.busy_seconds(), server.cpu_seconds(), probes.children_cpu_seconds()]
    cpu = probes.CpuWindow(*((a - b) / elapsed for a, b in zip(after, before, strict=True)))
    figures = result.as_dict()
    figures["cpu_cores"] = {"server": cpu.server, "wrk": cpu.loadgen, "others": cpu.others}
    # The server's CPU time per answered request: what the machine's other work disturbs least.
    if result.requests_per_second:
        figures["cpu_ms_per_request"] = cpu.server * 1000 / result.requests_per_second
    if metrics_before and scenario.model:
        figures["batching"] = batching_figures(metrics_before, server.metrics(), scenario.model)
    return figures


def describe(server: Server) -> dict:
    """Start-up time and memory of a stopped server."""
    figures = {
        "ready_seconds": server.ready_seconds,
        "idle_rss_mb": server.idle_rss / 2**20,
        "peak_rss_mb": server.peak_rss / 2**20,
    }
    if server.name == "service":
        figures["startup_seconds"] = server.log_marks(STARTUP_MARKS)
    return figures


def run(args: argparse.Namespace) -> dict:
    """Floor, then both servers up, then every scenario on each; the report as a dict."""
    scenarios = all_scenarios()
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]]),
        "machine": probes.machine(),
        "model_dir": str(args.model_dir.resolve()),
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "service_env": args.env,
    }
    with_model = [name for name in args.scenarios if scenarios[name].model]
    print(f"floor: the models called in-process ({', '.join(with_model)})", flush=True)
    report["floor"] = measure_floor(args.model_dir, with_model) if with_model else {}
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as tmp:
        work = Path(tmp)
        servers = [
            service_server(args.model_dir, args.env, work / "service.log"),
            baseline_server(args.model_dir, work / "baseline.log"),
        ]
        report["runs"] = {}
        try:
            for server in servers:
                server.start()
                server.sample_memory()
                print(f"{server.name}: ready in {server.ready_seconds:.1f} s", flush=True)
            for name in args.scenarios:
                report["runs"][name] = {}
                for server in servers:
                    figures = load(server, scenarios[name], args, work)
                    report["runs"][name][server.name] = figures
                    print(
                        f"{name} {server.name}: {figures['requests_per_second']:.0f} req/s, "
                        f"p50 {figures['latency_ms']['50']:.1f} ms, "
                        f"p99 {figures['latency_ms']['99']:.1f} ms, {figures['errors']} errors",
                        flush=True,
                    )
        finally:
            for server in servers:
                server.stop()
        report["servers"] = {server.name: describe(server) for server in servers}
    report["machine"]["loadavg_end"] = probes.machine()["loadavg"]
    report["targets"] = check_targets(report)
    return report


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        importlib.import_module(SUBCOMMANDS[sys.argv[1]]).main(sys.argv[2:])
        return
    args = parse_args()
    require_wrk()
    report = run(args)
    print("\n" + format_report(report))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"benchmark-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
