"""Service fixtures: apps built on the session's trained model store (`model_dir`)."""

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.main import create_app
from service.serving.servable import Servable
from service.settings import Settings


def make_settings(model_dir: Path, **overrides: object) -> Settings:
    """Settings for a test app: the given store, fast polling, anything else overridden."""
    return Settings(model_dir=model_dir, model_poll_seconds=0.2, **overrides)  # type: ignore[arg-type]


def copy_version(store: Path, version: int, source: int = 1) -> None:
    """Copy version `source` of both models to `version`, as a new training run would."""
    for name in ("sentiment", "next_word"):
        shutil.copytree(store / name / str(source), store / name / str(version))


def write_broken_version(store: Path, version: int) -> None:
    """A complete-looking version whose SavedModel is garbage."""
    for name in ("sentiment", "next_word"):
        path = store / name / str(version)
        path.mkdir(parents=True)
        (path / "saved_model.pb").write_bytes(b"not a protobuf")
        (path / "metadata.json").write_text(json.dumps({"name": name, "version": version}))


@pytest.fixture(scope="session")
def build_app() -> Callable[..., FastAPI]:
    """`build_app(model_dir, **settings)`: a new app on a model store."""
    return lambda model_dir, **overrides: create_app(make_settings(model_dir, **overrides))


@pytest.fixture(scope="session")
def serve(build_app: Callable[..., FastAPI], model_dir: Path) -> Callable[..., Any]:
    """`with serve(store=model_dir, **settings) as client:` a fresh app, lifespan running."""

    @contextmanager
    def serve(store: Path = model_dir, **overrides: object) -> Iterator[TestClient]:
        with TestClient(build_app(store, **overrides)) as client:
            yield client

    return serve


@pytest.fixture(scope="session")
def add_version() -> Callable[..., None]:
    """`add_version(store, version, source=1)`: a copy of a version under a new number."""
    return copy_version


@pytest.fixture(scope="session")
def add_broken_version() -> Callable[[Path, int], None]:
    """`add_broken_version(store, version)`: a complete-looking version that cannot load."""
    return write_broken_version


@pytest.fixture
def store(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the model store, for tests that add versions."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


@pytest.fixture(scope="session")
def settings(model_dir: Path) -> Settings:
    return make_settings(model_dir)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    """One app on the trained models for every test that only reads."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def empty_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose model store holds nothing yet."""
    with TestClient(create_app(make_settings(tmp_path / "model"))) as client:
        yield client


class Gate:
    """Holds the model calls of servables until released, recording their texts."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[list[str]] = []

    def hold(self, servable: Servable) -> None:
        """Make every later call of `servable` wait for `release`."""
        original = servable.predict

        def held_predict(texts: list[str], k: int = 1) -> list:
            self.calls.append(list(texts))
            self.entered.set()
            self.release.wait(30)
            return original(texts, k)

        servable.predict = held_predict  # type: ignore[method-assign]


@pytest.fixture
def gate() -> Iterator[Gate]:
    """A gate that is opened when the test ends, whatever happened."""
    gate = Gate()
    yield gate
    gate.release.set()


def wait_until(check: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll `check` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def eventually() -> Callable[..., None]:
    """`eventually(check, timeout=30)`: wait until `check()` is truthy."""
    return wait_until
