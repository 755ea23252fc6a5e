"""The benchmark's report: the targets the service is held to, and the tables printed."""

from benchmarks.scenarios import all_scenarios

GB = 1024  # MiB


def ratio(pair: dict, key: str = "requests_per_second") -> float | None:
    """service / baseline of a figure of one scenario, if both ran."""
    if "service" not in pair or "baseline" not in pair or not pair["baseline"].get(key):
        return None
    return pair["service"][key] / pair["baseline"][key]


def check_targets(report: dict) -> list[dict]:
    """Each target that applies to the scenarios run: the measured value, the goal, and whether
    it is met."""
    runs, floor, service = report["runs"], report["floor"], report["servers"]["service"]
    targets: list[dict] = []

    def add(name: str, measured: float | None, unit: str, goal: str, met: bool) -> None:
        if measured is not None:
            targets.append(dict(target=name, measured=measured, unit=unit, goal=goal, met=met))

    if "short-64" in runs:
        gain = ratio(runs["short-64"])
        add("short, 64 conns: req/s vs baseline", gain, "x", ">= 10x", (gain or 0) >= 10)
        p99 = runs["short-64"]["service"]["latency_ms"]["99"]
        add("short, 64 conns: p99", p99, "ms", "< 50 ms", p99 < 50)
    if "review-16" in runs:
        gain = ratio(runs["review-16"])
        add("review, 16 conns: req/s vs baseline", gain, "x", ">= 3x", (gain or 0) >= 3)
    if "short-1" in runs:
        above = runs["short-1"]["service"]["latency_ms"]["50"] - floor["short-1"]["single_p50_ms"]
        add("short, 1 conn: p50 above the floor", above, "ms", "<= 2 ms", above <= 2)
    errors = sum(pair["service"]["errors"] for pair in runs.values())
    add("errors (non-2xx + socket), all runs", errors, "", "0", errors == 0)
    peak = service["peak_rss_mb"]
    add("peak memory, service process tree", peak, "MB", "<= 1 GB", peak <= GB)
    ready = service["ready_seconds"]
    add("time to ready", ready, "s", "<= 10 s", ready <= 10)
    return targets


def run_rows(title: str, pair: dict) -> list[str]:
    """Rows of one scenario: each server, then the service/baseline ratios."""
    rows = []
    for server, r in pair.items():
        calls = (r.get("batching") or {}).get("texts_per_call")
        cpu_ms, cores = r.get("cpu_ms_per_request"), r["cpu_cores"]
        rows.append(
            f"| {title if server == 'service' else ''} | {server} "
            f"| {r['requests_per_second']:.0f} | {r['latency_ms']['50']:.1f} "
            f"| {r['latency_ms']['99']:.1f} | {r['errors']} | {number(cpu_ms, 2)} "
            f"| {cores['server']:.2f} | {cores['others']:.2f} | {number(calls, 1)} |"
        )
    if (gain := ratio(pair)) is not None:
        s, b = pair["service"]["latency_ms"], pair["baseline"]["latency_ms"]
        p50, p99 = s["50"] / b["50"], s["99"] / b["99"]
        cost = ratio(pair, "cpu_ms_per_request")
        rows.append(
            f"| | service/baseline | **{gain:.2f}x** | {p50:.2f}x | {p99:.2f}x | "
            f"| {number(cost, 2)}x | | | |"
        )
    return rows


def number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def measured(target: dict) -> str:
    unit = target["unit"]
    digits = {"": 0, "MB": 0, "x": 2}.get(unit, 1)
    return f"{target['measured']:.{digits}f}{'' if unit in ('', 'x') else ' '}{unit}"


def format_report(report: dict) -> str:
    """Markdown: the runs, the in-process floor, start-up and memory, then the targets."""
    m, titles = report["machine"], {name: s.title for name, s in all_scenarios().items()}
    env = report["service_env"]
    lines = [
        f"{m['nproc']} cores ({m['cpu_model']}), {m['memory_gb']} GB; load average "
        f"{' '.join(m['loadavg'])} at start, {' '.join(m.get('loadavg_end', []))} at end; "
        f"{report['duration_seconds']:g} s per run after {report['warmup_seconds']:g} s of "
        f"warm-up" + (f"; service settings {env}" if env else ""),
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | errors | CPU ms/req | server cores "
        "| other cores | texts/call |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, pair in report["runs"].items():
        lines += run_rows(titles.get(name, name), pair)
    if report["floor"]:
        lines += [
            "",
            "| floor: in-process, no HTTP | 1 text p50 ms | batch of | batch p50 ms | texts/s |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, f in report["floor"].items():
            lines.append(
                f"| {titles.get(name, name)} | {f['single_p50_ms']:.2f} | {f['batch_texts']} "
                f"| {f['batch_p50_ms']:.2f} | {f['batched_texts_per_second']:.0f} |"
            )
    lines += ["", "| server | ready s | idle RSS MB | peak RSS MB |"]
    lines += ["| --- | ---: | ---: | ---: |"]
    for name, s in report["servers"].items():
        lines.append(
            f"| {name} | {s['ready_seconds']:.1f} | {s['idle_rss_mb']:.0f} "
            f"| {s['peak_rss_mb']:.0f} |"
        )
    if phases := report["servers"].get("service", {}).get("startup_seconds"):
        marks = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in phases.items())
        lines += ["", f"service start-up, seconds after spawn: {marks}"]
    lines += ceilings(report["runs"], report["floor"])
    lines += ["", "| target | measured | goal | met |", "| --- | ---: | --- | --- |"]
    for t in report["targets"]:
        met = "yes" if t["met"] else "NO"
        lines.append(f"| {t['target']} | {measured(t)} | {t['goal']} | {met} |")
    return "\n".join(lines)


def ceilings(runs: dict, floor: dict) -> list[str]:
    """How far the short-64 ratio could go at most: with the service's HTTP stack alone, and
    with the model alone (no HTTP at all)."""
    baseline = runs.get("short-64", {}).get("baseline")
    if not baseline:
        return []
    lines = []
    health = runs.get("health-64", {}).get("service", {}).get("cpu_ms_per_request")
    if health and (short := baseline.get("cpu_ms_per_request")):
        rate = runs["health-64"]["service"]["requests_per_second"]
        lines += [
            "",
            f"HTTP ceiling: GET /health costs the service {health:.2f} ms of CPU a request "
            f"({rate:.0f} req/s); the baseline's short text at 64 conns costs {short:.2f} ms: "
            f"at equal CPU the service can answer at most {short / health:.1f}x as many",
        ]
    if "short-64" in floor:
        model_rate = floor["short-64"]["batched_texts_per_second"]
        lines += [
            "",
            f"Model ceiling: called in-process in batches, with no HTTP at all, the model answers "
            f"{model_rate:.0f} short texts/s on this machine, "
            f"{model_rate / baseline['requests_per_second']:.1f}x the baseline's short-text rate "
            f"at 64 conns: no server can pass that ratio",
        ]
    return lines
