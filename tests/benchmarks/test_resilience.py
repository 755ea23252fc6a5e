"""Resilience run tooling: memory sampling, version copies, wrk counts and the checks."""

import json
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.resilience import (
    LUA,
    add_version,
    checks,
    logged,
    newest_version,
    parse_report,
    peak_rss,
    tree_vmrss_mb,
)
from service.serving.servable import BrokenModelError, load_servable
from service.serving.store import complete_versions

WRK_OUTPUT = """Running 10m test @ http://127.0.0.1:8000/
  1 threads and 8 connections
  Latency Distribution
     50%   21.00ms
     75%   30.00ms
     90%   45.00ms
     99%  120.00ms
  900 requests in 9.00s, 300.00KB read
  Non-2xx or 3xx responses: 3
Requests/sec:    100.00
status\t200\t897
status\t503\t2
status\t503 without Retry-After\t1
version\t1\t500
version\t2\t397
"""


@pytest.fixture
def store(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def test_tree_vmrss_mb_reads_this_process() -> None:
    status = Path("/proc/self/status").read_text()
    [own_kb] = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")]
    assert tree_vmrss_mb(os.getpid()) == pytest.approx(own_kb / 1024, rel=0.2)


def test_peak_rss_sees_memory_touched_while_sampling() -> None:
    before = tree_vmrss_mb(os.getpid())
    with peak_rss(os.getpid(), every=0.01) as rss:
        block = bytearray(64 * 2**20)  # zero-filled, so resident
        time.sleep(0.1)
        del block
    assert rss["peak_mb"] >= before + 50


def test_add_version_renames_a_full_copy_into_place(store: Path) -> None:
    add_version(store, 1, 2)
    for name in ("sentiment", "next_word"):
        assert [v.version for v in complete_versions(store, name)] == [2, 1]
        copied = sorted(p.relative_to(store / name / "2") for p in (store / name / "2").rglob("*"))
        assert copied == sorted(
            p.relative_to(store / name / "1") for p in (store / name / "1").rglob("*")
        )
        assert not list((store / name).glob(".tmp-*"))
    assert newest_version(store) == 2


def test_add_broken_version_is_complete_but_cannot_load(store: Path) -> None:
    add_version(store, 1, 2, broken=True)
    [found, _] = complete_versions(store, "sentiment")
    assert found.version == 2
    with pytest.raises(BrokenModelError):
        load_servable(found, top_k=5)


def test_parse_report_counts_statuses_versions_and_failures() -> None:
    result = parse_report(WRK_OUTPUT)
    assert result["requests"] == 900
    assert result["statuses"] == {"200": 897, "503": 2, "503 without Retry-After": 1}
    assert result["versions"] == {"1": 500, "2": 397}
    assert result["failed"] == 3
    assert result["latency_ms"]["99"] == 120.0


def test_logged_matches_whole_messages_or_their_first_words(tmp_path: Path) -> None:
    messages = ["released sentiment version 10", "skipping next_word version 7 (x): cannot load"]
    log = tmp_path / "service.log"
    lines = [json.dumps({"level": "info", "message": m}, separators=(",", ":")) for m in messages]
    log.write_text("\n".join(["I0000 tensorflow says hello", "[1, 2]", *lines]) + "\n")
    server = SimpleNamespace(log=log)
    assert logged(server, "released sentiment version 10", "skipping next_word version 7")  # type: ignore[arg-type]
    assert not logged(server, "released sentiment version 1")  # type: ignore[arg-type]


def test_lua_script_formats_with_its_requests() -> None:
    script = LUA.format(requests='  {"/sentiment", [==[{"text": "a"}]==]}')
    assert '{"/sentiment", [==[{"text": "a"}]==]}' in script
    assert "{{" not in script and "retry-after" in script


def fake_report(**changes: object) -> dict:
    phase = {"statuses": {"200": 10}, "socket_errors": {"connect": 0}, "failed": 0}
    report = {
        "flood": phase | {"after": {"sentiment": 200, "health": 200, "ready": 200}},
        "reload": phase
        | {"steps": [{"served": True, "released": True, "rss_mb": m} for m in (900, 905, 902)]},
        "broken": phase
        | {"versions": {"4": 10}, "old_version": "4", "served_after": {"sentiment": "4"}}
        | {"skip_logged": True},
        "exit_status": 0,
    }
    return report | changes


def test_checks_pass_on_a_good_run_and_name_each_failure() -> None:
    assert all(c["passed"] for c in checks(fake_report(), 3))
    flood = fake_report()["flood"] | {"statuses": {"200": 5, "500": 1}}
    steps = [{"served": True, "released": True, "rss_mb": m} for m in (900, 960, 1020)]
    reload = fake_report()["reload"] | {"steps": steps}
    failed = [
        c["check"] for c in checks(fake_report(flood=flood, reload=reload), 3) if not c["passed"]
    ]
    assert failed == [
        "flood: only 200, or 503 with Retry-After",
        "reload: RSS trend < 20 MB a reload",
    ]
