"""The Docker packaging: Dockerfile, .dockerignore and docker-compose.yml.

The default run reads the files (and asks `docker compose config`, when the CLI has the compose
plugin, to parse the compose file); it needs no engine and takes seconds. The end-to-end test
builds both images, trains into a fresh model store and serves it; it runs only with
RUN_DOCKER_TESTS=1 and a reachable engine (about 10 minutes, most of it the first build):

    RUN_DOCKER_TESTS=1 .venv/bin/python -m pytest tests/docker -v

DOCKER_TEST_DATA (default: a small generated CSV) and DOCKER_TEST_PRESET (default: quick) choose
what that test trains on.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.docker.tools import compose_available, needs_compose

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "python:3.11-slim"

pytestmark = pytest.mark.docker


# --- the Dockerfile, read as text -------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its (INSTRUCTION, arguments) list; continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            current = stages.setdefault(name, [])
        current.append((instruction, args.strip()))
    return stages


def stage_chain(stages: dict[str, list[tuple[str, str]]], name: str) -> list[tuple[str, str]]:
    """Every instruction that shapes the image of `name`, its parent stages' first."""
    parent = stages[name][0][1].split()[0]
    inherited = stage_chain(stages, parent) if parent in stages else []
    return inherited + stages[name]


def test_dockerfile_has_dependency_train_and_api_stages() -> None:
    stages = dockerfile_stages()

    assert {"deps", "train", "api"} <= set(stages)
    assert list(stages)[-1] == "api", "a plain `docker build .` should give the service"


def test_dockerfile_builds_only_from_python_slim() -> None:
    stages = dockerfile_stages()

    for name, instructions in stages.items():
        parent = instructions[0][1].split()[0]
        assert parent == BASE_IMAGE or parent in stages, f"stage {name} starts from {parent}"


def test_dockerfile_installs_pinned_packages_without_cache() -> None:
    installs = [
        args
        for instructions in dockerfile_stages().values()
        for instruction, args in instructions
        if instruction == "RUN" and "-r " in args
    ]

    assert installs
    for args in installs:
        assert "--no-cache-dir" in args
        assert "constraints.txt" in args


@pytest.mark.parametrize("target", ["train", "api"])
def test_dockerfile_runs_images_as_non_root_user(target: str) -> None:
    users = [
        args
        for instruction, args in stage_chain(dockerfile_stages(), target)
        if instruction == "USER"
    ]

    assert users, f"{target} sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_api_checks_health_and_exposes_port() -> None:
    api = stage_chain(dockerfile_stages(), "api")
    healthchecks = [args for instruction, args in api if instruction == "HEALTHCHECK"]
    env = " ".join(args for instruction, args in api if instruction == "ENV")

    assert healthchecks and "/health" in healthchecks[-1]
    assert ("EXPOSE", "8000") in api
    assert "MODEL_DIR=/models" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert "TF_CPP_MIN_LOG_LEVEL" in env


def test_dockerfile_keeps_training_packages_out_of_api() -> None:
    api = stage_chain(dockerfile_stages(), "api")
    copied = " ".join(args for instruction, args in api if instruction in {"COPY", "RUN"})

    assert "train.txt" not in copied
    assert "training" not in copied


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }

    for pattern in [".git", ".venv", "model/*", "runs", "benchmarks/results", "**/__pycache__"]:
        assert pattern in patterns, f".dockerignore misses {pattern}"
    for needed in ["requirements", "training", "service"]:
        assert not any(p.strip("/") == needed for p in patterns), f"{needed}/ must reach the build"


# --- docker-compose.yml, parsed by `docker compose config` ------------------------------------


def compose_config(**env: str) -> dict:
    """The compose file as compose itself reads it, with only the given variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "TRAIN_"))}
    clean.pop("API_PORT", None)
    result = subprocess.run(
        ["docker", "compose", "--profile", "train", "config", "--format", "json"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mount(service: dict, target: str) -> dict:
    return next(v for v in service["volumes"] if v["target"] == target)


@needs_compose
def test_compose_defaults_serve_on_8000_from_model_read_only() -> None:
    api = compose_config()["services"]["api"]

    assert api["build"]["target"] == "api"
    assert [(p["published"], p["target"]) for p in api["ports"]] == [("8000", 8000)]
    assert mount(api, "/models")["source"] == str(ROOT / "model")
    assert mount(api, "/models")["read_only"] is True
    assert api["restart"] == "unless-stopped"
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert "profiles" not in api


@needs_compose
def test_compose_api_port_moves_published_port() -> None:
    api = compose_config(API_PORT="8123")["services"]["api"]

    assert [(p["published"], p["target"]) for p in api["ports"]] == [("8123", 8000)]


@needs_compose
def test_compose_train_defaults_to_full_preset_and_download() -> None:
    train = compose_config()["services"]["train"]

    assert train["build"]["target"] == "train"
    assert train["profiles"] == ["train"], "`docker compose up` must not start training"
    assert train["command"] == ["--preset", "full"]
    assert train["environment"]["TRAIN_DATA"] in ("", None)
    assert mount(train, "/models")["source"] == str(ROOT / "model")
    assert not mount(train, "/models").get("read_only")
    assert mount(train, "/cache")["type"] == "volume"


@needs_compose
def test_compose_train_mounts_train_data_read_only(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\ngood,1\n")

    train = compose_config(TRAIN_DATA=str(data), TRAIN_PRESET="quick")["services"]["train"]

    assert train["command"] == ["--preset", "quick"]
    assert train["environment"]["TRAIN_DATA"] == str(data)
    assert mount(train, "/mnt/train-data")["source"] == str(data)
    assert mount(train, "/mnt/train-data")["read_only"] is True


# --- end to end, with an engine ---------------------------------------------------------------


def engine_reachable() -> bool:
    if not compose_available():
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def compose_project(tmp_path_factory: pytest.TempPathFactory):
    """A copy of the project with its own empty model store, torn down afterwards."""
    if os.environ.get("RUN_DOCKER_TESTS") != "1":
        pytest.skip("set RUN_DOCKER_TESTS=1 to build, train and serve in Docker")
    if not engine_reachable():
        pytest.skip("no Docker engine is reachable")
    project = tmp_path_factory.mktemp("docker") / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ["requirements", "training", "service"]:
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ["Dockerfile", ".dockerignore", "docker-compose.yml"]:
        shutil.copy(ROOT / name, project / name)
    (project / "model").mkdir()
    if os.getuid() == 0:
        # As root, hand the store to another user: training must write as its owner.
        os.chown(project / "model", 4321, 4321)
    name = f"imdbtest{os.getpid()}"
    env = {**os.environ, "API_PORT": str(free_port())}
    run = ComposeRunner(project, name, env)
    try:
        yield run
    finally:
        run("--profile", "train", "down", "--volumes", "--remove-orphans", check=False)


class ComposeRunner:
    def __init__(self, project: Path, name: str, env: dict[str, str]) -> None:
        self.project, self.name, self.env = project, name, env
        self.url = f"http://127.0.0.1:{env['API_PORT']}"

    def __call__(
        self, *args: str, timeout: float = 600, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["docker", "compose", "-p", self.name, *args],
            cwd=self.project,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, (
                f"{args}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def wait_for(url: str, status: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = http("GET", url)[0]
            if last == status:
                return
        except (OSError, urllib.error.URLError) as error:
            last = error
        time.sleep(2)
    raise AssertionError(f"{url} did not answer {status} within {seconds:.0f} s (last: {last})")


def write_reviews(path: Path, count: int = 1_000) -> None:
    """Short reviews whose words tell their label: enough for the pipeline to learn something."""
    rng = random.Random(0)
    good = "great wonderful moving brilliant superb funny charming beautiful".split()
    bad = "awful boring dull terrible weak stupid painful tedious".split()
    common = "the movie film story actors plot was and a very this i it of".split()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        for i in range(count):
            label = i % 2
            words = rng.choices(common, k=20) + rng.choices(good if label else bad, k=4)
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])


@pytest.mark.timeout(3600)
def test_docker_builds_trains_and_serves(compose_project: ComposeRunner, tmp_path: Path) -> None:
    run = compose_project
    data = os.environ.get("DOCKER_TEST_DATA")
    if not data:
        data = str(tmp_path / "reviews.csv")
        write_reviews(Path(data))
    preset = os.environ.get("DOCKER_TEST_PRESET", "quick")
    store = run.project / "model"

    # 1. Both images build.
    run("--profile", "train", "build", timeout=3000)

    # 2. An empty store: the service is up but not ready, and stays up.
    run("up", "-d", "api")
    wait_for(f"{run.url}/health", 200, 180)
    assert http("GET", f"{run.url}/ready")[0] == 503
    time.sleep(10)
    container = run("ps", "-q", "api").stdout.strip()
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert state == ["running", "0"]
    assert "train" in run("logs", "api").stdout.lower(), "the log should say how to train"

    # 3. Training writes version 1 of both models, owned by the store's owner.
    run("run", "--rm", "train", timeout=1800, TRAIN_DATA=data, TRAIN_PRESET=preset)
    owner = store.stat().st_uid
    for name in ["sentiment", "next_word"]:
        version = store / name / "1"
        assert (version / "saved_model.pb").is_file()
        assert (version / "metadata.json").is_file()
        assert {p.stat().st_uid for p in [version, *version.rglob("*")]} == {owner}

    # 4. The running service picks the new version up and answers.
    wait_for(f"{run.url}/ready", 200, 180)
    status, body = http("POST", f"{run.url}/sentiment", {"text": "a great movie"})
    assert status == 200, body
    assert body["label"] in {"positive", "negative"}
    assert 0.0 <= body["positive_probability"] <= 1.0
    assert body["model_version"] == "1"
    status, body = http("POST", f"{run.url}/next-word", {"text": "i love this", "top_k": 3})
    assert status == 200, body
    assert len(body["predictions"]) == 3
    assert all(isinstance(p["word"], str) for p in body["predictions"])
