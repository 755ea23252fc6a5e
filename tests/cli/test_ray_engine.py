"""`score --engine ray` on a local Ray cluster started for these tests (`ray start --head`):
the same rows and probabilities as the local engine, row for row."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="ray is not installed (requirements/cli.txt, make setup)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A one-node cluster on the loopback address, stopped (with every process it started)
    after the module's tests."""
    port = free_port()
    ray = Path(sys.executable).with_name("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Ray head did not start")
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGINT)  # --block: on Ctrl+C ray stops what it started, exits
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


@pytest.mark.parametrize(("suffix", "extra"), [(".csv", ["--next-words", "2"]), (".jsonl", [])])
def test_ray_scores_like_local(
    run_cli, ray_address, two_versions, labelled, tmp_path, suffix, extra
):
    source = labelled
    if suffix == ".jsonl":
        import csv
        import json

        source = tmp_path / "in.jsonl"
        with labelled.open(newline="") as file:
            rows = list(csv.DictReader(file))
        source.write_text("".join(json.dumps({"n": i, **r}) + "\n" for i, r in enumerate(rows)))
    common = ["score", "--model-dir", two_versions, "--version", 1, "--input", source, *extra]
    common += ["--prefix", "p_"]
    local = run_cli(*common, "--output", tmp_path / f"local{suffix}")
    assert local.code == 0, local.err
    remote = run_cli(
        *common, "--output", tmp_path / f"ray{suffix}", "--engine", "ray", "--address", ray_address,
        "--json",
    )  # fmt: skip
    assert remote.code == 0, remote.err
    assert remote.json["rows"] == 240 and remote.json["engine"] == "ray"
    assert (tmp_path / f"ray{suffix}").read_text() == (tmp_path / f"local{suffix}").read_text()


def test_ray_needs_a_cluster(run_cli, model_dir, labelled, tmp_path) -> None:
    result = run_cli(
        "score", "--model-dir", model_dir, "--input", labelled, "--output", tmp_path / "o.csv",
        "--prefix", "p_", "--engine", "ray",
    )  # fmt: skip
    assert result.code == 2 and "--engine ray needs --address" in result.err
