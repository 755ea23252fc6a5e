"""The compose `lb` profile: HAProxy in front of `--scale api=N`, with a real engine.

The default run asks `docker compose config` how the profile is wired (no engine). With
RUN_DOCKER_TESTS=1 and a reachable engine, the end-to-end test builds the api and lb images
(tagged apart from the project's, so that other checkouts' images stay as they are), serves the
session's tiny model store with two replicas behind the balancer, and checks that both answer
through it; then it runs the api image as Kubernetes does, with a read-only root filesystem.

    RUN_DOCKER_TESTS=1 .venv/bin/python -m pytest tests/docker/test_scale.py -v
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker.project_copy import copy_project
from tests.docker.test_docker import (
    ROOT,
    ComposeRunner,
    compose_available,
    engine_reachable,
    free_port,
    http,
    needs_compose,
    wait_for,
)

pytestmark = pytest.mark.docker
IMAGES = {"api": "imdb-lstm-service-scaletest:api", "lb": "imdb-lstm-service-scaletest:lb"}
V2_BODY = {"inputs": [{"name": "texts", "shape": [1], "datatype": "BYTES", "data": ["fun"]}]}


def lb_config(**env: str) -> dict:
    """The compose file with the `lb` profile, as compose reads it."""
    variables = {k: v for k, v in os.environ.items() if k not in {"API_PORT", "API_PUBLISH"}}
    out = subprocess.run(
        ["docker", "compose", "--profile", "lb", "config", "--format", "json"],
        cwd=ROOT,
        env={**variables, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)


@needs_compose
def test_compose_lb_takes_api_port_replicas_loopback() -> None:
    services = lb_config(API_PORT="8123", API_PUBLISH="127.0.0.1:")["services"]
    lb, api = services["lb"], services["api"]
    assert lb["profiles"] == ["lb"]
    assert [(p["published"], p["target"]) for p in lb["ports"]] == [("8123", 8000)]
    [port] = api["ports"]
    assert (port.get("host_ip"), port.get("published"), port["target"]) == ("127.0.0.1", None, 8000)
    assert lb["build"]["context"] == str(ROOT / "deploy" / "haproxy")


def test_lb_image_from_python_slim_with_debian_haproxy() -> None:
    dockerfile = (ROOT / "deploy" / "haproxy" / "Dockerfile").read_text()
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM")] == [
        "FROM python:3.11-slim"
    ]
    assert "apt-get install -y --no-install-recommends haproxy" in dockerfile
    assert "USER haproxy" in dockerfile


@pytest.fixture(scope="module")
def scaled(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeRunner]:
    """The project copied with the session's model store, two replicas behind the balancer."""
    if os.environ.get("RUN_DOCKER_TESTS") != "1":
        pytest.skip("set RUN_DOCKER_TESTS=1 to build and serve in Docker")
    if not compose_available() or not engine_reachable():
        pytest.skip("no Docker engine is reachable")
    project = copy_project(model_dir, tmp_path_factory.mktemp("scale") / "project")
    override = {"services": {name: {"image": image} for name, image in IMAGES.items()}}
    (project / "compose.test.yml").write_text(json.dumps(override))
    env = {**os.environ, "API_PORT": str(free_port()), "API_PUBLISH": "127.0.0.1:"}
    run = ComposeRunner(project, f"imdbscale{os.getpid()}", env)
    files = ["-f", "docker-compose.yml", "-f", "compose.test.yml", "--profile", "lb"]
    run.files = files  # type: ignore[attr-defined]
    try:
        run(*files, "build", "api", "lb", timeout=3000)
        run(*files, "up", "-d", "--scale", "api=2", timeout=600)
        yield run
    finally:
        run(*files, "down", "--volumes", "--remove-orphans", check=False)


def replica_urls(run: ComposeRunner) -> list[str]:
    """Each api replica's own loopback address (API_PUBLISH=127.0.0.1:)."""
    urls = []
    for index in (1, 2):
        out = run(*run.files, "port", "--index", str(index), "api", "8000").stdout.strip()  # type: ignore[attr-defined]
        urls.append(f"http://{out}")
    return urls


def predictions_answered(url: str) -> float:
    status, text = http("GET", f"{url}/metrics")
    assert status == 200
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in str(text).splitlines()
        if line.startswith("http_requests_total{") and 'status="200"' in line and "POST" in line
    )


@pytest.mark.timeout(3600)
def test_both_replicas_answer_through_the_balancer(scaled: ComposeRunner) -> None:
    wait_for(f"{scaled.url}/ready", 200, 600)
    urls = replica_urls(scaled)
    for url in urls:
        wait_for(f"{url}/ready", 200, 600)
    time.sleep(3)  # two of the balancer's checks: both replicas UP
    before = [predictions_answered(url) for url in urls]
    for _ in range(20):
        status, body = http("POST", f"{scaled.url}/sentiment", {"text": "a great movie"})
        assert status == 200, body
        status, body = http("POST", f"{scaled.url}/v2/models/sentiment/infer", V2_BODY)
        assert status == 200, body
        assert body["outputs"][0]["name"] == "positive_probability"
    answered = [predictions_answered(url) - b for url, b in zip(urls, before, strict=True)]
    assert sum(answered) == 40
    assert min(answered) > 0, f"a replica took no request: {answered}"


@pytest.mark.timeout(1200)
def test_api_image_serves_with_read_only_root(scaled: ComposeRunner) -> None:
    port = free_port()
    container = subprocess.run(
        ["docker", "run", "-d", "--read-only", "--tmpfs", "/tmp", "--user", "1000:1000"]
        + ["-e", "HOME=/tmp", "-p", f"127.0.0.1:{port}:8000"]
        + ["-v", f"{scaled.project / 'model'}:/models:ro", IMAGES["api"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        wait_for(f"http://127.0.0.1:{port}/ready", 200, 600)
        status, body = http("POST", f"http://127.0.0.1:{port}/next-word", {"text": "i love"})
        assert status == 200, body
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
