"""Two replicas behind HAProxy under load (benchmarks.replicas, short): traffic share, SIGTERM,
a model rollout and kill -9, with real processes on loopback."""

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.balancer import mixed_requests
from benchmarks.replicas import main


@pytest.fixture
def haproxy() -> None:
    if shutil.which("haproxy") is None:
        message = "haproxy is not installed (apt-get install haproxy; see .ci/system-packages)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_mixed_requests_cover_every_endpoint() -> None:
    paths = {path for _, path, _ in mixed_requests()}
    assert paths == {
        "/sentiment",
        "/next-word",
        "/v2/models/sentiment/infer",
        "/v2/models/next_word/infer",
    }


def test_replicas_behind_haproxy(haproxy: None, model_dir: Path, tmp_path: Path) -> None:
    argv = ["--model-dir", str(model_dir), "--steady-seconds", "3", "--results-dir", str(tmp_path)]
    report = main(argv)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert not failed, failed
    assert report["failed"] <= report["kill"]["held_at_kill"]
    assert set(report["kinds"]) == {k for k, _, _ in mixed_requests()}
    assert list(tmp_path.glob("replicas-*.json"))
