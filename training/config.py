"""Training settings: one typed dataclass with commented defaults, and the presets that override it.

The defaults are the `full` preset: the best models this project makes in about an hour on two
CPU cores. `quick` is a five-minute smoke run; `tiny` is for the test suite. The final config is
written into every version's metadata.json, so a model always carries what rebuilds it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1337

    # data
    validation_fraction: float = 0.1  # share of *movies* held out (all their reviews go together)
    max_labelled: int = 0  # 0 = every labelled review; >0 keeps a random subset (smoke runs)
    max_unlabelled: int = -1  # -1 = every unlabelled review, 0 = none

    # tokenizer: one vocabulary shared by both models
    vocab_size: int = 20_000  # including padding (id 0) and the out-of-vocabulary token (id 1)

    # network, shared by the language model and the classifier built from it
    embedding_dim: int = 256
    lstm_units: int = 256
    embedding_dropout: float = 0.1  # the classifier's; the language model has none

    # language model (the next-word model, and the pretraining of the sentiment model)
    lm_window: int = 64  # tokens per training window
    # Small batches learn far more per token here (docs/results.md).
    lm_batch_size: int = 32
    lm_sampled_softmax: int = 1024  # negative samples per step; the full softmax is for evaluation
    # 3e-3 learns faster than 2e-3 (perplexity 170 against 188 at batch 64 after 4.9M tokens);
    # at batch 32 its 4,500 steps give what 5,000 gave at 2e-3, 4.5 minutes sooner per run.
    lm_learning_rate: float = 3e-3
    # Optimizer steps of the forward language model (the next-word model) and of the backward
    # one, which only starts the backward classifier.
    lm_steps: int = 6_000
    lm_backward_steps: int = 4_000
    lm_steps_per_epoch: int = 500  # how often to validate and log
    # The last share of the steps anneals the rate to zero (at 1,000 steps, a fifth gave 0.013
    # nats and 0.2 points of top-5 over a constant rate, measured).
    lm_decay_share: float = 0.2
    # The step counts are the plan, so a slower machine only takes longer. The time budgets are a
    # safety net against a machine far slower than planned for (2.5x or more): when one stops a
    # model short, the run says so and records it (`time_budget_cuts` in metadata.json).
    lm_minutes: float = 40.0
    lm_eval_windows: int = 2_000  # held-out windows for the learning curves' loss and top-k
    clip_norm: float = 1.0  # gradient clipping tames exploding gradients through time
    # Share of the forward language model's training reviews read without their punctuation, as
    # many people type in a box; the rest are read as written.
    lm_unpunctuated_share: float = 0.35
    # How many times the language models read each text of --lm-data (its held-out share
    # aside): a small corpus of one's own domain weighs more against the reviews.
    lm_data_repeat: int = 1

    # A second language model and classifier that read every text from its end; the sentiment
    # model averages both directions' logits (about +2 points on short sentences). Doubles the
    # training time, which is why each direction's budget above is what it is.
    backward_model: bool = True

    # sentiment classifier, fine-tuned from the language model
    # A review is read as its first head + last tail tokens. 800 in all cut 3% of the training
    # reviews (400 cut 18%); the forward classifier gained 0.3 points over 128 + 272 (91.35% against
    # 91.02%) for about 14% more fine-tuning time.
    review_head_tokens: int = 256
    review_tail_tokens: int = 544
    clf_batch_size: int = 32
    clf_head_steps: int = 150  # train the new head alone first, so it does not wreck the LSTM
    clf_head_learning_rate: float = 1e-3
    clf_learning_rate: float = 4e-4
    clf_epochs: int = 2
    clf_hidden: int = 64
    clf_dropout: float = 0.3
    clf_minutes: float = 30.0
    # The n-gram model blended into the sentiment answer (`training/ngram_model.py`): how many
    # unigrams, bigrams and trigrams it weighs, the most frequent first (docs/results.md: why
    # this many).
    ngram_features: int = 150_000
    # Words after a negator read apart (`not_great`), up to the next punctuation or "but".
    ngram_negation_scope: bool = True

    # next-word serving and evaluation
    next_word_context: int = 64  # tokens of context the exported model reads
    # Held-out positions predicted by our model and the trigram, in each form (as written, and
    # without punctuation).
    next_word_eval_positions: int = 100_000
    # Held-out words (other than those above) on which the mix's weights are fitted: the cache's
    # theta and weight, the trigram's weight.
    next_word_mix_positions: int = 30_000
    # Held-out sentences the exported next-word model types as a keyboard (keystroke saving
    # rate and top-3 recall, training/keystrokes.py), in each form; the trigram keyboard types
    # them too. 200 take about a minute on the `full` models.
    keystroke_sentences: int = 200

    # evaluation
    baselines: bool = True  # TF-IDF+LR, NB-LR and the Kneser-Ney trigram on the same split

    def override(self, **changes: object) -> TrainConfig:
        """A copy with `changes` applied; unknown names are an error, values keep their type."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        typed = {}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}")
            kind = type(getattr(self, name))
            typed[name] = _parse_bool(value) if kind is bool else kind(value)
        return dataclasses.replace(self, **typed)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in {"true", "false", "1", "0"}:
        raise ValueError(f"expected true or false, got {value!r}")
    return text in {"true", "1"}


PRESETS: dict[str, dict[str, object]] = {
    "full": {},
    # Five minutes on two cores: a small network, a fraction of the data, one pass of each model.
    "quick": dict(
        vocab_size=10_000,
        embedding_dim=64,
        lstm_units=96,
        max_unlabelled=10_000,
        lm_batch_size=64,
        lm_learning_rate=2.5e-3,
        lm_sampled_softmax=256,
        lm_steps=900,
        lm_backward_steps=900,
        lm_steps_per_epoch=300,
        lm_minutes=3.0,
        lm_eval_windows=300,
        next_word_eval_positions=25_000,
        keystroke_sentences=50,
        review_head_tokens=64,
        review_tail_tokens=128,
        clf_batch_size=64,
        clf_head_steps=40,
        clf_learning_rate=2e-3,
        clf_epochs=1,
        clf_minutes=3.0,
        backward_model=False,
        baselines=False,
    ),
    # Seconds, for tests: proves the pipeline end to end, not the accuracy.
    "tiny": dict(
        vocab_size=400,
        embedding_dim=16,
        lstm_units=16,
        lm_window=16,
        lm_batch_size=16,
        lm_sampled_softmax=32,
        lm_steps=40,
        lm_backward_steps=40,
        lm_steps_per_epoch=20,
        lm_minutes=5.0,
        lm_eval_windows=20,
        review_head_tokens=16,
        review_tail_tokens=16,
        clf_batch_size=16,
        clf_head_steps=5,
        clf_learning_rate=5e-3,
        clf_epochs=2,
        clf_minutes=5.0,
        ngram_features=2_000,
        next_word_context=16,
        next_word_eval_positions=500,
        keystroke_sentences=8,
        backward_model=False,
        baselines=False,
    ),
}


def load_config(preset: str, overrides: dict[str, str] | None = None) -> TrainConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    return TrainConfig().override(**PRESETS[preset]).override(**(overrides or {}))
