"""The floor: the SavedModels called in-process, with no HTTP.

For each scenario, the p50 latency of a one-text call and the throughput of calls batched as
wide as the scenario's connections (the widest call its concurrent requests could share).
Run as `python -m benchmarks.floor --model-dir model [--scenarios a,b]`; prints JSON.
"""

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from itertools import cycle, islice
from pathlib import Path

import tensorflow as tf

from benchmarks.baseline import latest_version
from benchmarks.scenarios import Scenario, all_scenarios


@functools.cache
def load(model_dir: Path, name: str) -> object:
    """The newest version of a model, loaded once per process."""
    return tf.saved_model.load(str(latest_version(model_dir, name)))


def model_call(model_dir: Path, scenario: Scenario) -> Callable[[list[str]], object]:
    """A function that calls the scenario's model on texts and fetches the outputs."""
    signature = load(model_dir, scenario.model).signatures["serving_default"]
    if scenario.model == "sentiment":
        return lambda texts: signature(texts=tf.constant(texts))["positive_probability"].numpy()
    k = tf.constant(5)
    return lambda texts: signature(texts=tf.constant(texts), k=k)["words"].numpy()


def timed_calls(call: Callable[[], object], seconds: float, most: int) -> list[float]:
    """Durations of calls repeated for `seconds` (at most `most` of them), after a warm-up."""
    for _ in range(5):
        call()
    durations: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and len(durations) < most:
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


def measure(model_dir: Path, scenario: Scenario, seconds: float) -> dict:
    """Single-text p50 (ms) and batched texts/s of one scenario's model and texts."""
    texts = [json.loads(b)["text"] for b in scenario.bodies]
    call = model_call(model_dir, scenario)
    singles = cycle(texts)
    single = timed_calls(lambda: call([next(singles)]), seconds, 2000)
    width = scenario.connections
    batch = list(islice(cycle(texts), width))
    batched = timed_calls(lambda: call(batch), seconds, 2000)
    return {
        "single_p50_ms": statistics.median(single) * 1000,
        "single_calls": len(single),
        "batch_texts": width,
        "batch_p50_ms": statistics.median(batched) * 1000,
        "batched_texts_per_second": width / statistics.median(batched),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--scenarios", default=",".join(all_scenarios()))
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    args = parser.parse_args()
    scenarios = [all_scenarios()[name] for name in args.scenarios.split(",")]
    results = {s.name: measure(args.model_dir, s, args.seconds) for s in scenarios if s.model}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
