"""The whole workflow against a running service: train on a CSV, then on the same CSV with its
labels shuffled; evaluate and compare rank the first above the second; with the first promoted,
a real `python -m service` keeps answering with it while the second is trained; promoting the
second is refused with the figures, `--force` and then `rollback` switch the running service
both ways, and a thread sending requests all along sees no failed request."""

from __future__ import annotations

import csv
import json
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from benchmarks.servers import service_server
from tests.cli.conftest import write_labelled
from tests.conftest import make_review

ROOT = Path(__file__).resolve().parents[2]


def write_reviews(path: Path, rows: int = 480, shuffled: bool = False) -> Path:
    """Labelled reviews as a CSV (`id`, `text`, `label` as pos/neg); with `shuffled`, the same
    texts with their labels shuffled: a training run on bad data."""
    rng = random.Random(7)
    labels = [i % 2 for i in range(rows)]
    texts = [make_review(rng, label) for label in labels]
    if shuffled:
        random.Random(8).shuffle(labels)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "text", "label"])
        for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
            writer.writerow([i, text, "pos" if label else "neg"])
    return path


class Traffic:
    """Sentiment requests sent one after another from a thread, each answer recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, int, str | None]] = []  # (time, status, version)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(self.url + "/sentiment", json={"text": "a great movie"})
                    body = response.json() if response.status_code == 200 else {}
                    self.answers.append(
                        (time.monotonic(), response.status_code, body.get("model_version"))
                    )
                except httpx.HTTPError as error:
                    self.errors.append(repr(error))
                time.sleep(0.02)  # steady traffic that leaves the cores to training

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def since(self, moment: float) -> list[str | None]:
        return [version for at, _, version in self.answers if at >= moment]

    def wait_for(self, version: str, timeout: float = 60.0) -> None:
        """Until an answer sent after now comes from `version`."""
        start = time.monotonic()
        while version not in self.since(start):
            assert time.monotonic() - start < timeout, f"version {version} never answered"
            time.sleep(0.05)


def wait_loaded(url: str, versions: dict[str, str], timeout: float = 60.0) -> None:
    """Until /ready says both models are at `versions` (they are swapped one after the other)."""
    start = time.monotonic()
    while httpx.get(url + "/ready").json().get("models") != versions:
        assert time.monotonic() - start < timeout, f"never loaded {versions}"
        time.sleep(0.1)


@pytest.mark.timeout(1200)
def test_train_evaluate_promote_roll_back_under_load(
    run_cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    store = tmp_path / "model"
    good, bad = (
        write_reviews(tmp_path / "train.csv"),
        write_reviews(tmp_path / "shuffled.csv", shuffled=True),
    )
    held_out = write_labelled(tmp_path / "held_out.csv")
    train = ("train", "--model-dir", store, "--preset", "tiny", "--cache-dir", tmp_path / "cache")

    first = run_cli(*train, "--data", good, "--json")
    assert first.code == 0, first.err
    assert first.json["versions"] == {"sentiment": 1, "next_word": 1}
    promoted = run_cli("promote", "--model-dir", store, 1, "--json")
    assert promoted.code == 0, promoted.err

    server = service_server(store, {"MODEL_POLL_SECONDS": "0.3"}, tmp_path / "service.log")
    server.start()
    traffic = Traffic(server.url)
    try:
        traffic.start()
        traffic.wait_for("1")
        second = run_cli(*train, "--data", bad, "--json")  # while the service answers
        assert second.code == 0, second.err
        assert second.json["versions"] == {"sentiment": 2, "next_word": 2}
        time.sleep(1.5)  # several polls of the store after version 2 landed
        while_training = [v for _, _, v in traffic.answers]
        ready = httpx.get(server.url + "/ready").json()

        evaluations = [
            run_cli(
                "evaluate",
                "--model-dir",
                store,
                "--version",
                v,
                "--input",
                held_out,
                "--report-dir",
                tmp_path / f"report-{v}",
                "--json",
            )
            for v in (1, 2)
        ]
        compared = run_cli("compare", "--model-dir", store, 1, 2, "--input", held_out, "--json")
        refused = run_cli("promote", "--model-dir", store, 2, "--input", held_out, "--json")

        switched = time.monotonic()
        forced = run_cli("promote", "--model-dir", store, 2, "--input", held_out, "--force")
        assert forced.code == 0, forced.err
        traffic.wait_for("2")
        wait_loaded(server.url, {"sentiment": "2", "next_word": "2"})
        rolled = time.monotonic()
        back = run_cli("rollback", "--model-dir", store, "--json")
        assert back.code == 0, back.err
        traffic.wait_for("1")
        wait_loaded(server.url, {"sentiment": "1", "next_word": "1"})
        models = httpx.get(server.url + "/models").json()
    finally:
        traffic.stop()
        server.stop()

    # the second training changed nothing that the service answers
    assert set(while_training) == {"1"}
    assert ready["models"] == {"sentiment": "1", "next_word": "1"}
    assert ready["policy"] is True and ready["promoted"] == {"sentiment": "1", "next_word": "1"}

    # evaluate and compare rank the first above the second
    assert all(e.code == 0 for e in evaluations)
    accuracy = [e.json["accuracy"] for e in evaluations]
    assert accuracy[0] > 0.8 and accuracy[0] > accuracy[1] + 0.2, accuracy
    assert compared.code == 0 and compared.json["better"] == 1
    assert "version 1 is better than version 2" in compared.out

    # promoting the second is refused, with the figures
    assert refused.code == 3
    assert "sentiment: version 2 accuracy" in refused.out and ": worse" in refused.out
    assert refused.json["refused"] == ["sentiment"]

    # --force, then rollback, switched the running service both ways with no failed request
    assert traffic.errors == []
    assert {status for _, status, _ in traffic.answers} == {200}
    after_force = [v for v in traffic.since(switched) if v is not None]
    assert after_force[0] == "1" and "2" in after_force and after_force[-1] == "1"
    assert traffic.since(rolled)[-1] == "1"
    assert models["policy"] is True
    assert [(m["name"], m["version"], m["promoted_version"]) for m in models["models"]] == [
        ("sentiment", "1", "1"),
        ("next_word", "1", "1"),
    ]
    log = (tmp_path / "service.log").read_text()
    assert "serving sentiment version 2" in log and "released sentiment version 2" in log
    # the card of each version was written at export
    card = (store / "sentiment" / "1" / "README.md").read_text()
    figure = json.loads((store / "sentiment" / "1" / "metadata.json").read_text())["metrics"]
    assert f"| accuracy (validation) | {figure['sentiment_accuracy']:.2%} |" in card
    assert "`train.csv`" in card
