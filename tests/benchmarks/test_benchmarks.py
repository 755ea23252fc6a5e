"""Benchmark tooling: wrk output, Lua scripts, /metrics figures, the report and the baseline app."""

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.baseline import create_app
from benchmarks.loadgen import lua_script, parse_wrk, to_ms
from benchmarks.report import check_targets, format_report
from benchmarks.scenarios import REVIEW_WORDS, all_scenarios
from benchmarks.servers import batching_figures, tree_rss_bytes

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/sentiment
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.10ms   20.31ms   1.02s    91.20%
    Req/Sec     1.23k   150.00     1.50k    70.00%
  Latency Distribution
     50%   48.50ms
     75%  612.00us
     90%    1.20s
     99%    2.00m
  12345 requests in 10.01s, 2.34MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   1233.27
Transfer/sec:    239.44KB
"""


def test_parse_wrk_reads_rate_latency_and_errors() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests == 12345
    assert result.seconds == pytest.approx(10.01)
    assert result.requests_per_second == pytest.approx(1233.27)
    assert result.latency_ms == {"50": 48.5, "75": 0.612, "90": 1200.0, "99": 120_000.0}
    assert result.non_2xx == 7
    assert result.socket_errors == {"connect": 0, "read": 3, "write": 0, "timeout": 2}
    assert result.errors == 12


def test_parse_wrk_without_errors() -> None:
    lines = [
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    ]
    assert parse_wrk("\n".join(lines)).errors == 0


def test_parse_wrk_refuses_other_output() -> None:
    with pytest.raises(ValueError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")
    with pytest.raises(ValueError):
        to_ms("12 parsecs")


def test_lua_script_posts_each_body_in_turn() -> None:
    scenario = all_scenarios()["next-word-16"]
    script = lua_script(scenario)
    assert 'wrk.format("POST", "/next-word", headers, bodies[i])' in script
    assert all(f"[==[{body}]==]" in script for body in scenario.bodies)
    assert 'wrk.format("GET", "/health")' in lua_script(all_scenarios()["health-64"])


def test_scenarios_texts() -> None:
    scenarios = all_scenarios()
    assert list(scenarios) == ["short-1", "short-64", "review-16", "next-word-16", "health-64"]
    texts = {name: [json.loads(b)["text"] for b in s.bodies] for name, s in scenarios.items()}
    assert {len(text.split()) for text in texts["short-64"]} == {10}
    assert {len(text.split()) for text in texts["review-16"]} == {REVIEW_WORDS}
    assert len(set(texts["review-16"])) == len(texts["review-16"])


def test_batching_figures_between_two_scrapes() -> None:
    def scrape(calls: int, texts: int, batches: int, requests: int, seconds: float) -> str:
        label = '{model="sentiment"}'
        return "\n".join(
            [
                "# HELP batch_size Texts per model call.",
                f"batch_size_count{label} {calls}.0",
                f"batch_size_sum{label} {texts}.0",
                f"batch_requests_count{label} {batches}.0",
                f"batch_requests_sum{label} {requests}.0",
                f"model_call_seconds_count{label} {calls}.0",
                f"model_call_seconds_sum{label} {seconds}",
                f"batch_queue_wait_seconds_count{label} {requests}.0",
                f"batch_queue_wait_seconds_sum{label} {seconds}",
            ]
        )

    figures = batching_figures(scrape(1, 1, 1, 1, 0.5), scrape(11, 201, 11, 201, 1.5), "sentiment")
    assert figures["model_calls"] == 10
    assert figures["texts_per_call"] == 20
    assert figures["requests_per_batch"] == 20
    assert figures["model_call_ms"] == pytest.approx(100)
    assert figures["queue_wait_ms"] == pytest.approx(5)
    assert batching_figures("", "", "sentiment") == {}


def test_tree_rss_bytes_of_this_process() -> None:
    assert tree_rss_bytes(os.getpid()) > 10 * 2**20


def fake_run(rps: float, p50: float, p99: float) -> dict:
    return {
        "requests_per_second": rps,
        "latency_ms": {"50": p50, "99": p99},
        "errors": 0,
        "cpu_cores": {"server": 1.0, "wrk": 0.2, "others": 0.1},
        "cpu_ms_per_request": 1000 / rps,
    }


def test_report_checks_targets_and_prints_tables() -> None:
    report = {
        "machine": {"nproc": 2, "cpu_model": "x", "memory_gb": 4, "loadavg": ["1", "1", "1"]},
        "duration_seconds": 10,
        "warmup_seconds": 2,
        "service_env": {},
        "runs": {
            "short-1": {"service": fake_run(300, 3.0, 5.0), "baseline": fake_run(400, 2.0, 4.0)},
            "short-64": {"service": fake_run(5000, 12, 40), "baseline": fake_run(400, 150, 300)},
            "health-64": {"service": fake_run(3000, 20, 60), "baseline": fake_run(3000, 20, 60)},
        },
        "floor": {
            "short-1": {
                "single_p50_ms": 1.5,
                "batch_texts": 1,
                "batch_p50_ms": 1.5,
                "batched_texts_per_second": 660,
            },
            "short-64": {
                "single_p50_ms": 1.5,
                "batch_texts": 64,
                "batch_p50_ms": 10.0,
                "batched_texts_per_second": 6400,
            },
        },
        "servers": {
            "service": {"ready_seconds": 8.0, "idle_rss_mb": 700, "peak_rss_mb": 900},
            "baseline": {"ready_seconds": 6.0, "idle_rss_mb": 700, "peak_rss_mb": 800},
        },
    }
    report["targets"] = check_targets(report)
    met = {t["target"]: t["met"] for t in report["targets"]}
    assert met == {
        "short, 64 conns: req/s vs baseline": True,  # 12.5x
        "short, 64 conns: p99": True,
        "short, 1 conn: p50 above the floor": True,  # 1.5 ms
        "errors (non-2xx + socket), all runs": True,
        "peak memory, service process tree": True,
        "time to ready": True,
    }
    text = format_report(report)
    assert "| | service/baseline | **12.50x** | 0.08x | 0.13x | | 0.08x | | | |" in text
    assert "GET /health costs the service 0.33 ms of CPU a request (3000 req/s)" in text
    assert "at equal CPU the service can answer at most 7.5x as many" in text
    assert "the model answers 6400 short texts/s on this machine, 16.0x the baseline's" in text


def test_baseline_answers_one_request(model_dir: Path) -> None:
    with TestClient(create_app(model_dir)) as client:
        sentiment = client.post("/sentiment", json={"text": "a great movie"})
        next_word = client.post("/next-word", json={"text": "a great", "top_k": 3})
        ready = client.get("/ready")
    assert sentiment.status_code == 200
    assert 0 <= sentiment.json()["positive_probability"] <= 1
    assert sentiment.json()["label"] in {"positive", "negative"}
    assert next_word.status_code == 200
    assert len(next_word.json()["predictions"]) == 3
    assert ready.status_code == 200


def test_behaviour_of_the_served_model_is_what_training_measured(model_dir: Path, tmp_path) -> None:
    from benchmarks import behaviour

    behaviour.main(["--model-dir", str(model_dir), "--results-dir", str(tmp_path)])
    measured = json.loads((tmp_path / "behaviour.json").read_text())["rates"]
    [version] = sorted((model_dir / "sentiment").iterdir())
    recorded = json.loads((version / "metadata.json").read_text())["behaviour"]["served"]
    assert list(measured) == list(recorded)
    # The SavedModel and training's own blend agree to float32 rounding: a case may cross.
    assert all(abs(measured[name] - recorded[name]) <= 1 / 60 for name in recorded)
