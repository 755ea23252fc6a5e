"""What a Docker test needs from the machine, checked by asking the tool itself."""

import shutil
import subprocess

import pytest


def compose_available() -> bool:
    """Whether `docker compose version` answers: the docker CLI with the Compose v2 plugin."""
    if shutil.which("docker") is None:
        return False
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return version.returncode == 0


needs_compose = pytest.mark.skipif(
    not compose_available(), reason="the docker CLI with the compose plugin is not installed"
)
