"""The monitoring profile of docker-compose.yml: a Prometheus that scrapes the api and loads the
alert rules.

The default run reads the compose file and the image's Dockerfile. The end-to-end test (only
with RUN_DOCKER_TESTS=1 and a reachable engine) builds the api and Prometheus images, serves the
session's tiny model store, and asks Prometheus whether the api target is up, whether a query
returns the service's series and whether the alert rules are loaded:

    RUN_DOCKER_TESTS=1 .venv/bin/python -m pytest tests/docker/test_monitoring.py -v
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.docker.project_copy import copy_project
from tests.docker.tools import compose_available

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"

pytestmark = pytest.mark.docker


def compose_config() -> dict:
    """The compose file with the monitoring profile, as compose reads it (no engine needed)."""
    if not compose_available():
        pytest.skip("the docker CLI with the compose plugin is not installed")
    result = subprocess.run(
        ["docker", "compose", "--profile", "monitoring", "config", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_monitoring_profile_adds_prometheus_only_on_request() -> None:
    prometheus = compose_config()["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"], "`docker compose up` must not start it"
    assert prometheus["build"]["context"] == str(PROMETHEUS)
    assert [(p["published"], p["target"]) for p in prometheus["ports"]] == [("9090", 9090)]
    assert prometheus["depends_on"] == {"api": {"condition": "service_started", "required": True}}


def test_prometheus_image_is_debian_prometheus_on_python_slim() -> None:
    dockerfile = (PROMETHEUS / "Dockerfile").read_text()
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM")] == [
        "FROM python:3.11-slim"
    ]
    assert "apt-get install -y --no-install-recommends prometheus" in dockerfile
    assert "USER prometheus" in dockerfile


def test_prometheus_scrapes_the_api_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["job_name"] == "imdb-api"  # the job the alert rules select
    assert job["static_configs"] == [{"targets": ["api:8000"]}]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


# --- end to end, with an engine ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, body: dict | None = None) -> tuple[int, dict]:
    """Status and JSON body of a GET (or a POST of `body`); status 0 when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, {}
    except (OSError, ValueError):
        return 0, {}


def wait_until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds:.0f} s"
        time.sleep(2)


class Compose:
    """`docker compose` on a copy of the project, with its own name and ports."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.name = f"imdbmon{os.getpid()}"
        self.env = {**os.environ, "API_PORT": str(free_port())}
        self.env["PROMETHEUS_PORT"] = str(free_port())
        self.api = f"http://127.0.0.1:{self.env['API_PORT']}"
        self.prometheus = f"http://127.0.0.1:{self.env['PROMETHEUS_PORT']}"

    def __call__(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        result = subprocess.run(
            ["docker", "compose", "-p", self.name, "--profile", "monitoring", *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout[-4000:]}\n{result.stderr}"
        return result.stdout

    def query(self, promql: str) -> list[dict]:
        """The result vector of an instant query."""
        url = f"{self.prometheus}/api/v1/query?query={urllib.parse.quote(promql)}"
        status, body = get_json(url)
        return body["data"]["result"] if status == 200 else []


@pytest.fixture(scope="module")
def compose(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Compose]:
    """A copy of the project serving the session's tiny models, torn down afterwards."""
    if os.environ.get("RUN_DOCKER_TESTS") != "1":
        pytest.skip("set RUN_DOCKER_TESTS=1 to run the monitoring profile in Docker")
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode
    ):
        pytest.skip("no Docker engine is reachable")
    model_dir: Path = request.getfixturevalue("model_dir")  # trained only when it will be used
    project = copy_project(model_dir, tmp_path_factory.mktemp("monitoring") / "project")
    run = Compose(project)
    try:
        yield run
    finally:
        run("down", "--volumes", "--remove-orphans", check=False)


@pytest.mark.timeout(3600)
def test_monitoring_profile_scrapes_the_api(compose: Compose) -> None:
    # 1. Both images build; the api serves the models and Prometheus starts beside it.
    compose("build", "api", "prometheus", timeout=3000)
    compose("up", "-d")
    wait_until(lambda: get_json(f"{compose.api}/ready")[0] == 200, 180, "the api ready")
    status, _ = get_json(f"{compose.api}/sentiment", {"texts": ["a great movie", "dull"]})
    assert status == 200

    # 2. Prometheus scrapes the api: its target is up.
    def api_target() -> dict:
        status, body = get_json(f"{compose.prometheus}/api/v1/targets")
        targets = body.get("data", {}).get("activeTargets", []) if status == 200 else []
        return next((t for t in targets if t["labels"]["job"] == "imdb-api"), {})

    wait_until(lambda: api_target().get("health") == "up", 120, "the api target up")
    assert api_target()["labels"]["instance"] == "api:8000"

    # 3. A query returns the service's series, with the prediction just made.
    wait_until(lambda: compose.query('service_ready{job="imdb-api"} == 1'), 60, "service_ready")
    sentiment = 'http_requests_total{job="imdb-api",route="/sentiment",status="200"}'
    wait_until(lambda: compose.query(sentiment), 60, "the /sentiment request count")
    assert float(compose.query(sentiment)[0]["value"][1]) >= 1
    [tokens] = compose.query('model_input_tokens_count{model="sentiment"}')
    assert float(tokens["value"][1]) >= 2

    # 4. The alert rules are loaded.
    status, body = get_json(f"{compose.prometheus}/api/v1/rules")
    assert status == 200
    alerts = {rule["name"] for group in body["data"]["groups"] for rule in group["rules"]}
    assert {"ServiceDown", "InputDrift", "ScoreDrift", "QueueNearlyFull"} <= alerts
    assert len(alerts) == 9
