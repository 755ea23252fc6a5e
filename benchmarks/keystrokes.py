"""Keystrokes saved by typing with the next-word model's suggestions, against a Kneser-Ney
trigram keyboard, on sentences of held-out reviews; with `--latency`, the time each keystroke's
request takes through HTTP.

    python -m benchmarks keystrokes [--model-dir model] [--sentences 200] [--seed S]
                                    [--data PATH] [--latency] [--latency-sentences 20]

The sentences come from the reviews of the movies the version's training held out: the corpus
(`--data`, else the source its metadata.json names) split again with the version's own config
and seed (training/data.py), so no sentence is one the model trained on. One random sentence of
4 to 30 words per random review, `--seed` choosing them (default: the training seed, as the
training pipeline's own KSR figure does).

Two keyboards type the same sentences (the typist and its figures: training/keystrokes.py):
- `served`: what POST /next-word answers for each text, `top_k` 3 and no `complete` field,
  produced without HTTP by the service's own code: the version loaded and warmed up by
  `load_servable`, asked through a `Batcher` by `service.serving.completion.suggest`;
- `trigram`: the served model's Kneser-Ney trigram member alone (its tables read from the
  export), ranking only the words that start with the typed fragment.
The table shows KSR, the share of words tapped and the top-3 recall after 0, 1 and 2 typed
letters, per form (lower case without punctuation, and as written); the JSON goes to
benchmarks/results/. The latency part is benchmarks/typing_latency.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import probes
from benchmarks.typing_latency import format_latency, measure_latency
from service.monitoring.metrics import Metrics
from service.serving.batching import Batcher
from service.serving.completion import suggest
from service.serving.servable import Servable, load_servable
from service.serving.store import VersionDir, complete_versions
from service.settings import Settings
from training.config import TrainConfig
from training.data import Columns, load_corpus, split_by_movie, subsample
from training.keyboards import TrigramKeyboard, vocabulary_tokenizer
from training.keystrokes import SUGGESTIONS, Answer, Keyboard, keystroke_figures, pick_sentences
from training.trigram_model import ARRAYS, trigram_from_arrays

RESULTS = Path(__file__).parent / "results"
TRIGRAM_SCOPE = "trigram_probabilities/"  # the trigram member's weights in the export


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks keystrokes", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--sentences", type=int, default=200, help="held-out sentences typed")
    parser.add_argument("--seed", type=int, help="picks the sentences (default: training seed)")
    parser.add_argument("--data", type=Path, help="the corpus (default: the version's source)")
    parser.add_argument("--latency", action="store_true", help="also time keystroke requests")
    parser.add_argument(
        "--latency-sentences", type=int, default=20, help="sentences whose keystrokes are timed"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    if not complete_versions(args.model_dir, "next_word"):
        parser.error(f"no next_word version in {args.model_dir}: train one first")
    return args


def held_out_reviews(metadata: dict[str, Any], data: Path | None) -> list[str]:
    """Every review of the movies (or groups) the version's training held out."""
    config = TrainConfig().override(
        **{k: v for k, v in metadata["config"].items() if k in TrainConfig.__dataclass_fields__}
    )
    source = data or Path(metadata["data"]["source"])
    if not source.exists():
        raise SystemExit(f"{source}: the version's corpus is not there; pass --data PATH")
    named = metadata["data"].get("columns")
    columns = Columns(**named) if named else None
    corpus = subsample(
        load_corpus(source, source.parent, columns),
        config.max_labelled,
        config.max_unlabelled,
        config.seed,
    )
    return split_by_movie(corpus, config.validation_fraction, config.seed).lm_val_texts


@dataclass
class ServedKeyboard:
    """POST /next-word's answers for texts (`top_k` 3, no `complete`), by the service's code."""

    servable: Servable
    loop: asyncio.AbstractEventLoop
    batcher: Batcher | None = None

    @classmethod
    def load(cls, version: VersionDir) -> ServedKeyboard:
        settings = Settings(model_dir=version.path.parent.parent, drift_metrics=False)
        keyboard = cls(load_servable(version, settings.max_top_k), asyncio.new_event_loop())

        async def start() -> Batcher:
            batcher = Batcher(keyboard.servable, settings, Metrics())
            batcher.start()
            return batcher

        keyboard.batcher = keyboard.loop.run_until_complete(start())
        return keyboard

    def __call__(self, texts: list[str]) -> list[Answer]:
        return self.loop.run_until_complete(self._ask(texts))

    async def _ask(self, texts: list[str]) -> list[Answer]:
        assert self.batcher is not None
        found = await asyncio.gather(*(suggest(self.batcher, t, SUGGESTIONS) for t in texts))
        return [Answer([w for w, _ in s.words], s.completing) for s in found]

    def close(self) -> None:
        if self.batcher is not None:
            self.loop.run_until_complete(self.batcher.close())
        self.loop.close()


def trigram_keyboard(servable: Servable, path: Path) -> TrigramKeyboard:
    """The served version's trigram member alone, from the tables its export (at `path`)
    holds, with the version's vocabulary and tokenizer rules."""
    variables = {
        v.name.removeprefix(TRIGRAM_SCOPE).split(":")[0]: v.numpy()
        for v in servable.signature.variables
        if v.name.startswith(TRIGRAM_SCOPE)
    }
    if set(ARRAYS) - set(variables):
        raise SystemExit(f"next_word version {servable.version} holds no trigram tables")
    tokens = (path / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return TrigramKeyboard(trigram_from_arrays(variables), tokens, vocabulary_tokenizer(tokens))


def timed(keyboard: Keyboard, sentences: list[str]) -> tuple[dict[str, dict], float]:
    started = time.perf_counter()
    figures = keystroke_figures(keyboard, sentences)
    return figures, time.perf_counter() - started


def format_table(figures: dict[str, dict[str, dict]]) -> str:
    """One row per keyboard and form: KSR, taps, recall after 0/1/2 letters."""
    lines = [
        "| keyboard | form | KSR | words tapped | recall@3, 0 letters | 1 letter | 2 letters |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for keyboard, forms in figures.items():
        for form, f in forms.items():
            lines.append(
                f"| {keyboard} | {form} | {f['ksr']:.3f} | {f['tapped_share']:.3f} | "
                f"{f['recall_after_0']:.3f} | {f['recall_after_1']:.3f} | "
                f"{f['recall_after_2']:.3f} |"
            )
    return "\n".join(lines)


def ratios(figures: dict[str, dict[str, dict]]) -> dict[str, float]:
    """Per form, the served model's KSR over the trigram keyboard's."""
    served, trigram = figures["served"], figures["trigram"]
    return {form: served[form]["ksr"] / trigram[form]["ksr"] for form in served}


def run(args: argparse.Namespace) -> dict:
    version = complete_versions(args.model_dir, "next_word")[0]
    metadata = json.loads((version.path / "metadata.json").read_text())
    seed = metadata["config"]["seed"] if args.seed is None else args.seed
    sentences = pick_sentences(held_out_reviews(metadata, args.data), args.sentences, seed)
    print(f"{len(sentences)} held-out sentences, next_word version {version.version}", flush=True)
    served = ServedKeyboard.load(version)
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "benchmarks", "keystrokes", *sys.argv[2:]]),
        "machine": probes.machine(),
        "model_dir": str(args.model_dir.resolve()),
        "next_word_version": version.version,
        "sentences": len(sentences),
        "seed": seed,
        "suggestions": SUGGESTIONS,
        "figures": {},
        "seconds": {},
    }
    try:
        keyboards = {"served": served, "trigram": trigram_keyboard(served.servable, version.path)}
        for name, keyboard in keyboards.items():
            report["figures"][name], report["seconds"][name] = timed(keyboard, sentences)
            print(f"{name}: typed in {report['seconds'][name]:.0f} s", flush=True)
    finally:
        served.close()
    report["ksr_ratio"] = ratios(report["figures"])
    report["examples"] = sentences[:5]
    if args.latency:
        report["latency"] = measure_latency(args.model_dir, sentences[: args.latency_sentences])
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = run(args)
    print("\n" + format_table(report["figures"]))
    print(", ".join(f"KSR ratio ({k}): {v:.2f}" for k, v in report["ksr_ratio"].items()))
    if "latency" in report:
        print("\n" + format_latency(report["latency"]))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"keystrokes-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
