"""How faithful and how costly the service's explanations are, on held-out reviews and sentences.

    python -m benchmarks.faithfulness --model-dir DIR [--data PATH] [--texts 200]

Held-out texts are the validation reviews of the training run (its movie split rebuilt from the
data, seed and settings in the model's metadata.json) and their last sentences, as the pipeline
builds its short-text set. Each is explained as the service does (occlusion, `explain_max_units`
units); then ERASER's measures (DeYoung et al. 2020), for the k units weighing most towards the
predicted class against k units drawn at random:
  comprehensiveness = p(text) - p(text without those k units)   higher: the units mattered
  sufficiency       = p(text) - p(those k units alone)          lower: they alone suffice
(p: the probability of the class predicted for the whole text). Last, the time one explanation
takes in the service's explainer (one slot, no HTTP), for a short text and a 300-word review.
"""

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.scenarios import SHORT_TEXTS, make_review
from service.explain.occlusion import Explainer, occlusion_copies, weigh
from service.explain.units import Unit
from service.monitoring.metrics import Metrics
from service.serving.servable import Servable, load_servable
from service.serving.store import complete_versions
from service.settings import Settings
from training.data import last_sentences, load_corpus, split_by_movie, subsample

KS = (1, 3, 5, 10)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faithfulness")
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--data", type=Path, help="the training data (default: metadata's)")
    parser.add_argument("--texts", type=int, default=200, help="reviews, and as many sentences")
    parser.add_argument("--seed", type=int, default=0, help="which texts and random units")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "imdb-lstm")
    return parser.parse_args()


def held_out(servable: Servable, data: Path | None, cache: Path) -> tuple[list[str], list[str]]:
    """The validation reviews of the run that trained `servable`, and their last sentences."""
    meta = servable.metadata
    config = meta["config"]
    source = data or Path(meta["data"]["source"])
    corpus = subsample(
        load_corpus(source, cache), config["max_labelled"], config["max_unlabelled"], config["seed"]
    )
    split = split_by_movie(corpus, config["validation_fraction"], config["seed"])
    sentences, _ = last_sentences(split.val_texts, split.val_labels)
    return split.val_texts, sentences


def predict(servable: Servable, texts: list[str], per_call: int = 32) -> np.ndarray:
    out: list[float] = []
    for start in range(0, len(texts), per_call):
        out.extend(servable.predict(texts[start : start + per_call]).predictions)  # type: ignore[arg-type]
    return np.asarray(out)


def keep_only(text: str, units: list[Unit]) -> str:
    return " ".join(text[u.start : u.end] for u in sorted(units, key=lambda u: u.start))


def remove(text: str, units: list[Unit]) -> str:
    for u in sorted(units, key=lambda u: -u.start):
        text = text[: u.start] + " " + text[u.end :]
    return text


def erasure(servable: Servable, texts: list[str], max_units: int, rng: random.Random) -> dict:
    """Comprehensiveness and sufficiency at each k, for the top-weighted and random units."""
    rows: dict[str, list[float]] = {}
    unit_words = []
    for text in texts:
        units, size, copies = occlusion_copies(text, max_units)
        if len(units) < 2:
            continue
        unit_words.append(size)
        explained = weigh(units, size, predict(servable, copies).tolist())
        sign = 1.0 if explained.probability >= 0.5 else -1.0
        order = sorted(range(len(units)), key=lambda i: -sign * explained.weights[i])
        probe, keys = [], []
        for k in KS:
            kk = min(k, len(units) - 1)
            chosen = {"top": [units[i] for i in order[:kk]], "random": rng.sample(units, kk)}
            for kind, picked in chosen.items():
                probe += [remove(text, picked), keep_only(text, picked)]
                keys += [f"comprehensiveness {kind} k={k}", f"sufficiency {kind} k={k}"]
        p = explained.probability
        for key, q in zip(keys, predict(servable, probe), strict=True):
            rows.setdefault(key, []).append(sign * (p - q))
    figures = {key: float(np.mean(values)) for key, values in rows.items()}
    figures["texts"] = len(unit_words)
    figures["mean_words_per_unit"] = float(np.mean(unit_words))
    return figures


def cost(servable: Servable, settings: Settings) -> dict[str, float]:
    """Median seconds of one explanation in the service's explainer."""
    rng = random.Random(0)
    texts = {"short": SHORT_TEXTS[0], "review_300_words": make_review(rng, 300)}
    explainer = Explainer(settings, Metrics())

    async def timed(text: str) -> float:
        started = time.perf_counter()
        await explainer.explain(servable, [text])
        return time.perf_counter() - started

    async def measure() -> dict[str, float]:
        await explainer.explain(servable, [texts["short"]])  # warm-up
        return {
            name: statistics.median([await timed(text) for _ in range(5)])
            for name, text in texts.items()
        }

    try:
        return asyncio.run(measure())
    finally:
        explainer.close()


def main() -> None:
    args = parse_args()
    settings = Settings(model_dir=args.model_dir)
    [found, *_] = complete_versions(args.model_dir, "sentiment")
    servable = load_servable(found, 1)
    reviews, sentences = held_out(servable, args.data, args.cache_dir)
    rng = random.Random(args.seed)
    picked = {
        "reviews": rng.sample(reviews, min(args.texts, len(reviews))),
        "sentences": rng.sample(sentences, min(args.texts, len(sentences))),
    }
    report: dict = {"model": f"{args.model_dir} sentiment v{servable.version}"}
    for name, texts in picked.items():
        started = time.perf_counter()
        report[name] = erasure(servable, texts, settings.explain_max_units, rng)
        print(f"{name}: {len(texts)} texts in {time.perf_counter() - started:.0f} s", flush=True)
    report["seconds_per_explanation"] = cost(servable, settings)
    print(json.dumps(report, indent=2))
    print(format_table(report))


def format_table(report: dict) -> str:
    lines = [
        f"ERASER on {report['model']}: top-k weighted units against k random units",
        "| texts | k | comprehensiveness top | random | sufficiency top | random |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("reviews", "sentences"):
        f = report[name]
        for k in KS:
            values = [
                f[f"{m} {kind} k={k}"]
                for m in ("comprehensiveness", "sufficiency")
                for kind in ("top", "random")
            ]
            lines.append(f"| {name} | {k} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    cost_ = report["seconds_per_explanation"]
    lines.append(
        f"one explanation: short text {cost_['short'] * 1e3:.0f} ms, "
        f"300-word review {cost_['review_300_words'] * 1e3:.0f} ms"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
