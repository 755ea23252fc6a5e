"""The `docker` marker: `pytest -m "not docker"` leaves the packaging checks out."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "docker: checks of the Docker packaging")
