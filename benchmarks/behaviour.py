"""The behavioural suite (training/behaviour.py) scored on a served sentiment model.

    python -m benchmarks.behaviour --model-dir DIR [--version V] [--url URL] [--examples 2]

In-process by default: the version's SavedModel (the newest complete one unless `--version`),
called with the suite's texts as the service calls it; with `--url`, through a running service's
`POST /sentiment` instead (64 texts a request), so what is measured is what clients get. Prints
each capability's failure rate with a few failed cases, and writes the figures as JSON.
Training writes the same rates for the blend and for each of its members into the version's
metadata.json (`behaviour`); this command scores any version, old ones included.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx
import numpy as np

from training.behaviour import Capability, build_suite, failure_rates, suite_texts

RESULTS = Path(__file__).parent / "results"
REQUEST_TEXTS = 64


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.behaviour")
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--version", type=int, help="sentiment version (default: newest)")
    parser.add_argument("--url", help="a running service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--examples", type=int, default=2, help="failed cases shown per test")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    return parser.parse_args(argv)


def saved_model_probabilities(model_dir: Path, version: int | None, texts: list[str]) -> np.ndarray:
    import tensorflow as tf

    from service.serving.store import complete_versions

    versions = {found.version: found.path for found in complete_versions(model_dir, "sentiment")}
    if not versions or (version is not None and version not in versions):
        raise SystemExit(f"{model_dir}: no complete sentiment version {version or ''}")
    model = tf.saved_model.load(str(versions[version if version is not None else max(versions)]))
    serve = model.signatures["serving_default"]
    found = [
        serve(texts=tf.constant(texts[start : start + REQUEST_TEXTS]))["positive_probability"]
        for start in range(0, len(texts), REQUEST_TEXTS)
    ]
    return np.concatenate([batch.numpy() for batch in found])


def service_probabilities(url: str, texts: list[str]) -> np.ndarray:
    found: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for start in range(0, len(texts), REQUEST_TEXTS):
            answer = client.post("/sentiment", json={"texts": texts[start : start + REQUEST_TEXTS]})
            answer.raise_for_status()
            found += [item["positive_probability"] for item in answer.json()["results"]]
    return np.array(found)


def failed_examples(capability: Capability, probabilities: np.ndarray, count: int) -> list[str]:
    failed = np.flatnonzero(capability.failures(probabilities))[:count]
    if capability.kind == "expect":
        return [f"{capability.cases[i][0]!r}: {probabilities[i]:.3f}" for i in failed]
    pairs = probabilities.reshape(-1, 2)
    return [
        f"{capability.cases[i][0]!r} {pairs[i, 0]:.3f} -> {capability.cases[i][1]!r} "
        f"{pairs[i, 1]:.3f}"
        for i in failed
    ]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    suite = build_suite()
    texts = suite_texts(suite)
    if args.url:
        probabilities = service_probabilities(args.url, texts)
    else:
        probabilities = saved_model_probabilities(args.model_dir, args.version, texts)
    rates = failure_rates(suite, probabilities)
    start, examples = 0, {}
    print(f"behavioural suite: {len(suite)} tests, {len(texts):,} texts")
    for capability in suite:
        own = probabilities[start : start + len(capability.texts())]
        start += len(capability.texts())
        examples[capability.name] = failed_examples(capability, own, args.examples)
        print(f"{rates[capability.name]:7.1%}  {capability.name} ({len(capability.cases)} cases)")
        for line in examples[capability.name]:
            print(f"           {line}")
    print(f"{rates['mean']:7.1%}  mean")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    target = args.results_dir / "behaviour.json"
    source = args.url or str(args.model_dir)
    target.write_text(json.dumps({"source": source, "rates": rates, "failed": examples}, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
