"""docker-compose.yml, read offline: the api container is hardened (read-only root, /tmp in
memory, no capability, no privilege escalation, a memory ceiling) and takes its API keys from
the environment or a mounted key file, with settings the service has. With the docker CLI's
compose plugin, `docker compose config` must accept the file with and without keys."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import Settings
from tests.docker.tools import compose_available

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
API = COMPOSE["services"]["api"]
PEAK_RSS_MIB = 1300  # the full models' service under load, measured (README, docs/benchmarks.md)
OTHER_VARIABLES = {"HOME"}


def mebibytes(size: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    return int(float(size[:-1]) * units[size[-1].lower()])


def test_api_container_hardened() -> None:
    assert API["read_only"] is True
    assert [mount.split(":")[0] for mount in API["tmpfs"]] == ["/tmp"]
    assert API["environment"]["HOME"] == "/tmp"
    assert API["cap_drop"] == ["ALL"]
    assert API["security_opt"] == ["no-new-privileges:true"]
    assert mebibytes(API["mem_limit"]) >= PEAK_RSS_MIB * 1.5


@pytest.mark.parametrize("name", ["lb", "prometheus"])
def test_other_long_running_containers_drop_capabilities(name: str) -> None:
    service = COMPOSE["services"][name]
    assert service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges:true"]


def test_api_keys_from_environment_or_mounted_files() -> None:
    env = API["environment"]
    assert env["API_KEYS"] == "${API_KEYS:-}"
    mounts = {m["target"]: m for m in API["volumes"] if isinstance(m, dict)}
    for setting, secret in (
        ("API_KEYS_FILE", "API_KEYS_SECRET"),
        ("METRICS_API_KEYS_FILE", "METRICS_KEY_SECRET"),
    ):
        # Set only with a file: an unset secret leaves the setting empty, which is no file.
        target = env[setting].removeprefix(f"${{{secret}:+").removesuffix("}")
        mount = mounts[target]
        assert mount["source"] == f"${{{secret}:-/dev/null}}"
        assert mount["read_only"] is True and mount["bind"]["create_host_path"] is False
    settings = {name.upper() for name in Settings.model_fields}
    assert set(env) - OTHER_VARIABLES <= settings


def test_prometheus_sends_the_mounted_scraper_key() -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = scrape["scrape_configs"]
    key_file = job["authorization"]["credentials_file"]
    mounts = [m for m in COMPOSE["services"]["prometheus"]["volumes"] if isinstance(m, dict)]
    assert [m["source"] for m in mounts if m["target"] == key_file] == [
        "${METRICS_KEY_SECRET:-/dev/null}"
    ]
    assert f"touch {key_file}" in (ROOT / "deploy" / "prometheus" / "Dockerfile").read_text()


def compose_config(**env: str) -> dict[str, Any]:
    out = subprocess.run(
        ["docker", "compose", "--profile", "monitoring", "config", "--format", "json"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)


@pytest.mark.skipif(not compose_available(), reason="the docker compose plugin is not installed")
def test_compose_config_with_and_without_key_files(tmp_path: Path) -> None:
    environment = compose_config()["services"]["api"]["environment"]
    assert not environment.get("API_KEYS_FILE")
    (tmp_path / "keys").write_text("k-1\n")
    api = compose_config(API_KEYS_SECRET=str(tmp_path / "keys"))["services"]["api"]
    assert api["environment"]["API_KEYS_FILE"] == "/run/secrets/api-keys"
    assert api["read_only"] is True and api["cap_drop"] == ["ALL"]
