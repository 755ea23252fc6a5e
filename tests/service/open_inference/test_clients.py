"""Real Open Inference Protocol clients against `python -m service` as a real process.

tritonclient[http] (JSON tensors, and its default binary tensor data) and kserve's
InferenceRESTClient (protocol v2) run in their own venv, `.venv-clients` (made by `make setup`
from requirements/clients.txt), through `v2_clients.py`; their answers must equal the native
endpoints' for the same texts.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.servers import Server, service_server

ROOT = Path(__file__).resolve().parents[3]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
SCRIPT = Path(__file__).with_name("v2_clients.py")
TEXTS = ["a great movie", "dull and boring, i hated it"]
CLIENTS = ("tritonclient_json", "tritonclient_binary", "kserve")


@pytest.fixture(scope="module")
def clients_python() -> Path:
    if not CLIENTS_PYTHON.exists():
        message = f"{CLIENTS_PYTHON} missing: `make setup` creates it from requirements/clients.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CLIENTS_PYTHON


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = service_server(model_dir, {}, tmp_path_factory.mktemp("v2") / "service.log")
    server.start(timeout=120)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def answers(clients_python: Path, server: Server) -> dict:
    done = subprocess.run(
        [str(clients_python), str(SCRIPT), server.url, *TEXTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("client", CLIENTS)
def test_client_health(answers: dict, client: str) -> None:
    assert answers[client]["live"] is True
    assert answers[client]["ready"] is True
    assert answers[client]["model_ready"] is True


@pytest.mark.parametrize("client", CLIENTS)
def test_client_sentiment_equals_native(answers: dict, server: Server, client: str) -> None:
    native = httpx.post(f"{server.url}/sentiment", json={"texts": TEXTS}).json()["results"]
    expected = np.float32([r["positive_probability"] for r in native])
    got = answers[client]["sentiment"]["outputs"]["positive_probability"]
    np.testing.assert_array_equal(np.float32(got), expected)


@pytest.mark.parametrize("client", CLIENTS)
def test_client_next_word_equals_native(answers: dict, server: Server, client: str) -> None:
    outputs = answers[client]["next_word"]["outputs"]
    for i, text in enumerate(TEXTS):
        native = httpx.post(f"{server.url}/next-word", json={"text": text, "top_k": 3}).json()
        assert outputs["words"][i] == [p["word"] for p in native["predictions"]]
        expected = np.float32([p["probability"] for p in native["predictions"]])
        np.testing.assert_array_equal(np.float32(outputs["probabilities"][i]), expected)


def test_triton_model_metadata(answers: dict) -> None:
    metadata = answers["tritonclient_json"]["metadata"]
    assert metadata["versions"] == ["1"]
    # words, probabilities and what each text completed
    assert [o["datatype"] for o in metadata["outputs"]] == ["BYTES", "FP32", "BYTES"]
    assert answers["tritonclient_binary"]["next_word"]["version"] == "1"


def test_triton_binary_outputs_came_in_binary(answers: dict) -> None:
    assert answers["tritonclient_binary"]["next_word"]["binary"] == [True, True, True]
    assert answers["tritonclient_json"]["next_word"]["binary"] == [False, False]
