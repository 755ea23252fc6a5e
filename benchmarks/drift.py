"""Does the drift score do its job? Streams of texts into a real service, and the PSI it reports.

    python -m benchmarks.drift --model-dir DIR [--data aclImdb*.tar.gz] [--window 1000]
    python -m benchmarks.drift --model-dir DIR --record-cost

Starts `python -m service` on the model store, then sends it, one stream after the other, as
sentiment batches of 16 texts: IMDB reviews it was not calibrated on (the unlabelled reviews of
the archive given with --data; the reference holds labelled validation reviews), short
product-review-like sentences, and strings of random letters. After each stream (the window's
size plus 200 texts, so that the PSI last computed saw that stream alone) it reads the sentiment
model's PSI gauges from /metrics and prints them beside the alert threshold of
deploy/prometheus/rules. Without --data the IMDB stream is left out.

--record-cost measures instead, in-process, what the drift metrics add to each model call: the
CPU time of `DriftMonitor.record` on a real answer of the sentiment model, per call of 1, 16 and 64
short texts.
"""

import argparse
import json
import random
import re
import string
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.servers import Server, metric_samples, service_server

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "rules"
FEATURES = ("token_count", "oov_share", "positive_probability")
BATCH = 16

PRODUCTS = "phone charger blender kettle backpack keyboard lamp headphones toaster mattress".split()
OPINIONS = [
    "works great",
    "stopped working after a week",
    "is worth every penny",
    "arrived broken",
    "feels cheap",
    "charges fast",
    "is far too loud",
    "fits perfectly",
    "was easy to set up",
    "smells of plastic",
]
TEMPLATES = [
    "The {product} {opinion}.",
    "My new {product} {opinion}, five stars.",
    "This {product} {opinion}; would not buy again.",
    "Bought the {product} for my son and it {opinion}.",
    "Fast shipping. The {product} {opinion}!",
]


def product_reviews(count: int, seed: int = 0) -> list[str]:
    """Short product-review-like sentences, as a shop's review box gets them."""
    rng = random.Random(seed)
    return [
        rng.choice(TEMPLATES).format(product=rng.choice(PRODUCTS), opinion=rng.choice(OPINIONS))
        for _ in range(count)
    ]


def random_words(count: int, seed: int = 0) -> list[str]:
    """Texts of 5 to 30 random lower-case 'words' of 3 to 9 letters."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))

    return [" ".join(word() for _ in range(rng.randint(5, 30))) for _ in range(count)]


def unlabelled_reviews(archive: Path, count: int) -> list[str]:
    """The first `count` reviews under train/unsup/ of an aclImdb archive."""
    found: list[str] = []
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if "/unsup/" in member.name and member.name.endswith(".txt"):
                file = tar.extractfile(member)
                assert file is not None
                found.append(file.read().decode("utf-8", "replace"))
                if len(found) == count:
                    break
    return found


def alert_threshold(name: str) -> float:
    """The PSI above which the rule `name` of deploy/prometheus/rules fires."""
    for path in RULES.glob("*.yml"):
        if match := re.search(rf"alert: {name}\n\s+expr: .*> ([0-9.]+)", path.read_text()):
            return float(match.group(1))
    raise LookupError(f"no alert {name} in {RULES}")


def post(url: str, texts: list[str]) -> None:
    request = urllib.request.Request(
        url + "/sentiment",
        data=json.dumps({"texts": texts}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200


def batches(texts: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(texts), BATCH):
        yield texts[start : start + BATCH]


def stream_psi(url: str, texts: list[str]) -> dict[str, float]:
    """Send `texts` to the sentiment model; its PSI gauges afterwards, by feature."""
    for batch in batches(texts):
        post(url, batch)
    with urllib.request.urlopen(url + "/ready", timeout=10) as response:
        version = json.load(response)["models"]["sentiment"]
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        samples = metric_samples(response.read().decode())
    labels = f'model="sentiment",version="{version}"'
    found = {
        feature: samples.get(f'model_input_drift_psi{{feature="{feature}",{labels}}}', float("nan"))
        for feature in FEATURES[:2]
    }
    found["positive_probability"] = samples.get(f"model_score_drift_psi{{{labels}}}", float("nan"))
    return found


def measure(server: Server, streams: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Each stream's PSI, the streams sent one after the other to the started `server`."""
    return {name: stream_psi(server.url, texts) for name, texts in streams.items()}


def record_cost(model_dir: Path, repeats: int = 2000) -> dict[int, float]:
    """CPU microseconds `DriftMonitor.record` takes per model call, by texts in the call."""
    from benchmarks.scenarios import SHORT_TEXTS
    from service.monitoring.drift import DriftMonitor
    from service.monitoring.metrics import Metrics
    from service.serving.servable import load_servable
    from service.serving.store import complete_versions
    from service.settings import Settings

    servable = load_servable(complete_versions(model_dir, "sentiment")[0], top_k=1)
    monitor = DriftMonitor(servable, Settings(model_dir=model_dir), Metrics())
    found = {}
    for size in (1, 16, 64):
        answer = servable.predict((SHORT_TEXTS * 8)[:size])
        started = time.thread_time()  # CPU time: what a busy machine's other work cannot inflate
        for _ in range(repeats):
            monitor.record(answer)
        found[size] = (time.thread_time() - started) / repeats * 1e6
    return found


def format_table(scores: dict[str, dict[str, float]], threshold: float) -> str:
    lines = [
        f"{'stream':<18}" + "".join(f"{f:>22}" for f in FEATURES) + "   above threshold",
        "-" * 104,
    ]
    for name, found in scores.items():
        above = [f for f in FEATURES if found[f] > threshold]
        cells = "".join(f"{found[f]:>22.3f}" for f in FEATURES)
        lines.append(f"{name:<18}{cells}   {', '.join(above) or 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift", description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--data", type=Path, help="an aclImdb archive with train/unsup reviews")
    parser.add_argument("--window", type=int, default=1000, help="DRIFT_WINDOW_TEXTS")
    parser.add_argument("--record-cost", action="store_true", help="time DriftMonitor.record")
    args = parser.parse_args(argv)
    if args.record_cost:
        for size, micros in record_cost(args.model_dir).items():
            print(f"DriftMonitor.record, a call of {size:>2} texts: {micros:.1f} µs of CPU")
        return
    count = args.window + 200  # PSI is recomputed every 100 texts (DRIFT_UPDATE_TEXTS)
    streams: dict[str, list[str]] = {}
    if args.data:
        streams["imdb reviews"] = unlabelled_reviews(args.data, count)
    streams["product reviews"] = product_reviews(count)
    streams["random words"] = random_words(count)
    env = {"DRIFT_WINDOW_TEXTS": str(args.window), "DRIFT_UPDATE_TEXTS": "100"}
    env["LOG_LEVEL"] = "warning"
    with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
        server = service_server(args.model_dir, env, Path(tmp) / "service.log")
        server.start()
        try:
            scores = measure(server, streams)
        finally:
            server.stop()
    threshold = alert_threshold("InputDrift")
    print(f"PSI of the sentiment model after {args.window} texts of each stream (alert: > ", end="")
    print(f"{threshold:g}, score drift > {alert_threshold('ScoreDrift'):g})")
    print(format_table(scores, threshold))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
