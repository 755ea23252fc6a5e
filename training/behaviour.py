"""The behavioural test suite of the sentiment model: what it must get right on short texts that
people type, scored by failure rate per capability, beside held-out accuracy.

Held-out accuracy is measured on whole reviews, where a model can read words more than
sentences and still score high. This suite asks for behaviours one at a time, in the manner of
CheckList (Ribeiro et al., ACL 2020), with templates and word lists of its own in the movie
domain:
- minimum functionality (`expect`): each text has a label the answer must match (p >= 0.5 for
  positive), e.g. "The movie was not great." is negative;
- invariance (`invariant`): pairs whose answers must not cross 0.5 between the two texts (a
  name, a typo, a URL, lower case, a neutral sentence added);
- direction (`direction`): pairs where the second text must move the probability one way (an
  added "I hated it." lowers it); a move the wrong way by more than `TOLERANCE` fails.

Every capability draws a fixed number of cases from its templates with a fixed seed, so the
suite is the same on every run and machine. `run_suite` scores it with any function from texts
to positive probabilities: the served blend, or each of its members alone.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

Predict = Callable[[list[str]], np.ndarray]  # texts -> probability of positive, one per text

CASES_PER_CAPABILITY = 120
TOLERANCE = 0.05  # how far a direction test may move the wrong way before it counts as failed
SEED = 20200705  # the suite's own: independent of the training seed

# Word lists, each word fitting its template slot.
POSITIVE_ADJECTIVES = (
    "good", "great", "wonderful", "excellent", "superb", "brilliant", "fantastic", "amazing",
    "enjoyable", "beautiful", "moving", "delightful", "charming", "gripping", "impressive",
    "fun", "touching", "clever", "perfect", "outstanding",
)  # fmt: skip
NEGATIVE_ADJECTIVES = (
    "bad", "terrible", "awful", "dull", "boring", "horrible", "poor", "weak", "dreadful",
    "tedious", "mediocre", "disappointing", "lame", "pointless", "stupid", "annoying",
    "forgettable", "painful", "messy", "bland",
)  # fmt: skip
WHOLE = ("movie", "film")
PARTS = (
    "acting", "plot", "story", "script", "ending", "cast", "dialogue", "direction",
    "soundtrack", "cinematography", "pacing", "lead performance", "humor", "first half",
)  # fmt: skip
POSITIVE_VERBS = ("loved", "enjoyed", "liked", "adored", "admired", "appreciated")
NEGATIVE_VERBS = ("hated", "disliked", "despised", "loathed", "regretted watching")
# The same verbs in the present tense, as after "now I ..." or "did not ...".
PRESENT = {
    "loved": "love", "enjoyed": "enjoy", "liked": "like", "adored": "adore",
    "admired": "admire", "appreciated": "appreciate", "hated": "hate", "disliked": "dislike",
    "despised": "despise", "loathed": "loathe", "regretted watching": "regret watching",
}  # fmt: skip
INTENSIFIERS = ("very", "really", "incredibly", "extremely", "truly", "absolutely")
DIMINISHERS = ("somewhat", "slightly", "a bit", "fairly", "kind of", "mildly")
UNGRADED = ("perfect", "outstanding", "pointless")  # no "very perfect"
NAMES = (
    "Tom Hanks", "Meryl Streep", "Denzel Washington", "Cate Blanchett", "Jackie Chan",
    "Penelope Cruz", "Idris Elba", "Tilda Swinton", "Song Kang-ho", "Aishwarya Rai",
    "Mads Mikkelsen", "Viola Davis",
)  # fmt: skip
NEUTRAL_SENTENCES = (
    "I watched it on a Sunday.", "I saw it with my brother.", "It is about two hours long.",
    "It came out last year.", "I watched it at home.", "It was shown on television.",
    "I saw it in a small theater.", "The tickets were cheap.",
)  # fmt: skip
URLS = ("http://example.com/review", "https://www.example.org/films/123", "www.example.net")


@dataclass(frozen=True)
class Capability:
    """One behaviour: its name, the kind of test, and its cases (a text and its label for
    `expect`; two texts for `invariant` and `direction`, with the direction's sign, +1 or -1)."""

    name: str
    kind: str  # "expect", "invariant" or "direction"
    cases: list[tuple] = field(repr=False)

    def texts(self) -> list[str]:
        if self.kind == "expect":
            return [text for text, _ in self.cases]
        return [text for case in self.cases for text in case[:2]]

    def failures(self, probabilities: np.ndarray) -> np.ndarray:
        """Whether each case failed, given the probabilities of `texts()` in order."""
        if self.kind == "expect":
            labels = np.array([label for _, label in self.cases])
            return (probabilities >= 0.5) != (labels == 1)
        first, second = probabilities[0::2], probabilities[1::2]
        if self.kind == "invariant":
            return (first >= 0.5) != (second >= 0.5)
        sign = np.array([case[2] for case in self.cases], np.float64)
        return sign * (second - first) < -TOLERANCE


def sample(rng: random.Random, combinations: Iterator[tuple], count: int) -> list[tuple]:
    """`count` of the combinations, drawn without replacement (all of them if fewer)."""
    pool = list(combinations)
    return rng.sample(pool, min(count, len(pool)))


def capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


def article(word: str) -> str:
    """`word` after "a" or "an", as written."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def short_sentences(rng: random.Random, adjectives: Sequence[str], label: int) -> list[tuple]:
    forms = ("The {n} was {a}.", "This {n} is {a}.", "What {an_a} {n}.", "The {n} was {a}!")
    combos = itertools.product(forms, WHOLE + PARTS, adjectives)
    return [
        (form.format(n=noun, a=adjective, an_a=article(adjective)), label)
        for form, noun, adjective in sample(rng, combos, CASES_PER_CAPABILITY)
    ]


def negated_positive(rng: random.Random) -> list[tuple]:
    forms = (
        "The {n} was not {a}.", "The {n} wasn't {a}.", "This {n} is not {a}.",
        "This {n} isn't {a}.", "The {n} was not {a} at all.", "It was not {an_a} {n}.",
    )  # fmt: skip
    combos = itertools.product(forms, WHOLE + PARTS, POSITIVE_ADJECTIVES)
    picked = sample(rng, combos, CASES_PER_CAPABILITY)
    return [(form.format(n=n, a=a, an_a=article(a)), 0) for form, n, a in picked]


def negated_positive_far(rng: random.Random) -> list[tuple]:
    forms = (
        "I didn't think the {n} was {a}.", "I don't think this {n} is {a}.",
        "I would not say the {n} was {a}.", "Nobody could call the {n} {a}.",
        "I never felt that the {n} was {a}.", "I can't say the {n} was {a}.",
    )  # fmt: skip
    combos = itertools.product(forms, WHOLE + PARTS, POSITIVE_ADJECTIVES)
    return [(form.format(n=n, a=a), 0) for form, n, a in sample(rng, combos, CASES_PER_CAPABILITY)]


def negated_positive_verb(rng: random.Random) -> list[tuple]:
    forms = (
        "I did not {v} this {n}.", "I didn't {v} the {n}.", "I really did not {v} this {n}.",
        "We didn't {v} the {n} at all.",
    )  # fmt: skip
    combos = itertools.product(forms, (PRESENT[v] for v in POSITIVE_VERBS), WHOLE + PARTS)
    return [(form.format(v=v, n=n), 0) for form, v, n in sample(rng, combos, CASES_PER_CAPABILITY)]


def negated_negative(rng: random.Random) -> list[tuple]:
    forms = (
        "The {n} was not {a} at all, I really {v} it.", "The {n} wasn't {a}, I {v} it.",
        "This {n} is not {a}, I {v} every minute of it.",
        "It was not {an_a} {n}. I {v} it.",
    )  # fmt: skip
    combos = itertools.product(forms, WHOLE, NEGATIVE_ADJECTIVES, POSITIVE_VERBS[:4])
    picked = sample(rng, combos, CASES_PER_CAPABILITY)
    return [(form.format(n=n, a=a, an_a=article(a), v=v), 1) for form, n, a, v in picked]


def contrast(rng: random.Random) -> list[tuple]:
    """ "X, but Y": Y, about the whole movie, decides; both orders, half each."""
    forms = (
        "The {p} was {x}, but the {w} was {y}.",
        "The {p} was {x}, but overall the {w} is {y}.",
    )
    half = CASES_PER_CAPABILITY // 2
    positive_last = itertools.product(forms, PARTS, NEGATIVE_ADJECTIVES, WHOLE, POSITIVE_ADJECTIVES)
    negative_last = itertools.product(forms, PARTS, POSITIVE_ADJECTIVES, WHOLE, NEGATIVE_ADJECTIVES)
    found = [
        (form.format(p=p, x=x, w=w, y=y), 1)
        for form, p, x, w, y in sample(rng, positive_last, half)
    ]
    found += [
        (form.format(p=p, x=x, w=w, y=y), 0)
        for form, p, x, w, y in sample(rng, negative_last, half)
    ]
    return found


def change_over_time(rng: random.Random) -> list[tuple]:
    forms = (
        "I used to {old} this {n}, but now I {new} it.",
        "At first I {old_past} the {n}, but now I {new} it.",
    )  # fmt: skip
    found = []
    for old, new, label in (
        (NEGATIVE_VERBS, POSITIVE_VERBS, 1),
        (POSITIVE_VERBS, NEGATIVE_VERBS, 0),
    ):
        combos = itertools.product(forms, old, new, WHOLE)
        for form, o, n_, noun in sample(rng, combos, CASES_PER_CAPABILITY // 2):
            text = form.format(old=PRESENT[o], old_past=o, new=PRESENT[n_], n=noun)
            found.append((text, label))
    return found


def recommendation() -> list[tuple]:
    positive = (
        "I would recommend this {n} to anyone.", "I highly recommend this {n}.",
        "I would definitely recommend the {n} to my friends.", "Go and see this {n}.",
        "I'd watch this {n} again.", "You should not miss this {n}.",
    )  # fmt: skip
    negative = (
        "I would never recommend this {n} to my friends.", "I can't recommend this {n}.",
        "I would not recommend the {n} to anyone.", "Don't waste your money on this {n}.",
        "Skip this {n}.", "I would never watch this {n} again.",
    )  # fmt: skip
    found = [(form.format(n=n), 1) for form, n in itertools.product(positive, WHOLE)]
    found += [(form.format(n=n), 0) for form, n in itertools.product(negative, WHOLE)]
    return found


def intensity(rng: random.Random, modifiers: Sequence[str], stronger: bool) -> list[tuple]:
    """Pairs (plain, modified): an intensifier moves the probability further its way, a
    diminisher back toward the middle."""
    found = []
    for adjectives, sign in ((POSITIVE_ADJECTIVES, 1), (NEGATIVE_ADJECTIVES, -1)):
        graded = [a for a in adjectives if a not in UNGRADED]
        combos = itertools.product(WHOLE + PARTS, modifiers, graded)
        for noun, modifier, adjective in sample(rng, combos, CASES_PER_CAPABILITY // 2):
            plain = f"The {noun} was {adjective}."
            modified = f"The {noun} was {modifier} {adjective}."
            found.append((plain, modified, sign if stronger else -sign))
    return found


def base_texts(rng: random.Random) -> list[str]:
    """Short opinions the invariance and direction tests change."""
    forms = ("The {n} was {a}.", "I thought the {n} was {a}.", "I found the {n} {a}.")
    adjectives = POSITIVE_ADJECTIVES + NEGATIVE_ADJECTIVES
    combos = itertools.product(forms, WHOLE + PARTS, adjectives)
    return [form.format(n=n, a=a) for form, n, a in sample(rng, combos, CASES_PER_CAPABILITY)]


def with_typo(rng: random.Random, text: str) -> str:
    """`text` with two neighbouring letters of one of its longer words swapped."""
    words = text.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word.strip(".,!")) > 3]
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(len(word.strip(".,!")) - 1)
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def contractions(rng: random.Random) -> list[tuple]:
    """Pairs of one negated opinion written out and contracted ("was not", "wasn't")."""
    forms = (
        ("The {n} was not {a}.", "The {n} wasn't {a}."),
        ("This {n} is not {a}.", "This {n} isn't {a}."),
        ("I did not think the {n} was {a}.", "I didn't think the {n} was {a}."),
        ("I do not think the {n} is {a}.", "I don't think the {n} is {a}."),
    )
    adjectives = POSITIVE_ADJECTIVES + NEGATIVE_ADJECTIVES
    combos = itertools.product(forms, WHOLE + PARTS, adjectives)
    return [
        (full.format(n=n, a=a), short.format(n=n, a=a))
        for (full, short), n, a in sample(rng, combos, CASES_PER_CAPABILITY)
    ]


def invariances(rng: random.Random) -> dict[str, list[tuple]]:
    texts = base_texts(rng)
    names = [
        (f"{a} was in it. {t}", f"{b} was in it. {t}")
        for t, (a, b) in zip(texts, (rng.sample(NAMES, 2) for _ in texts), strict=True)
    ]
    return {
        "invariance: a different actor's name": names,
        "invariance: a typo": [(t, with_typo(rng, t)) for t in texts],
        "invariance: a URL added": [(t, f"{t} {rng.choice(URLS)}") for t in texts],
        "invariance: contractions": contractions(rng),
        "invariance: a neutral sentence added": [
            (t, f"{rng.choice(NEUTRAL_SENTENCES)} {t}") for t in texts
        ],
    }


def directions(rng: random.Random) -> dict[str, list[tuple]]:
    texts = base_texts(rng)
    negative = ("I hated it.", "It was a waste of time.", "I want my money back.")
    positive = ("I loved it.", "I would watch it again.", "It was worth every minute.")
    return {
        "direction: a negative sentence added lowers it": [
            (t, f"{t} {rng.choice(negative)}", -1) for t in texts
        ],
        "direction: a positive sentence added raises it": [
            (t, f"{t} {rng.choice(positive)}", 1) for t in texts
        ],
    }


def build_suite() -> list[Capability]:
    """Every capability, with its cases, the same on every call."""
    rng = random.Random(SEED)
    suite = [
        Capability("short positive sentences", "expect",
                   short_sentences(rng, POSITIVE_ADJECTIVES, 1)),
        Capability("short negative sentences", "expect",
                   short_sentences(rng, NEGATIVE_ADJECTIVES, 0)),
        Capability("negated positive", "expect", negated_positive(rng)),
        Capability("negated positive, negation further away", "expect", negated_positive_far(rng)),
        Capability("negated positive verb", "expect", negated_positive_verb(rng)),
        Capability("negated negative, then an opinion", "expect", negated_negative(rng)),
        Capability("contrast: the clause after 'but' decides", "expect", contrast(rng)),
        Capability("change over time: now decides", "expect", change_over_time(rng)),
        Capability("recommendations", "expect", recommendation()),
        Capability("intensifiers move it further", "direction",
                   intensity(rng, INTENSIFIERS, stronger=True)),
        Capability("diminishers move it toward the middle", "direction",
                   intensity(rng, DIMINISHERS, stronger=False)),
    ]  # fmt: skip
    suite += [Capability(name, "invariant", cases) for name, cases in invariances(rng).items()]
    suite += [Capability(name, "direction", cases) for name, cases in directions(rng).items()]
    return suite


def suite_texts(suite: list[Capability]) -> list[str]:
    """Every text of the suite, capability after capability."""
    return [text for capability in suite for text in capability.texts()]


def failure_rates(suite: list[Capability], probabilities: np.ndarray) -> dict[str, float]:
    """Each capability's failure rate, given the probabilities of `suite_texts(suite)`, and
    their mean (key "mean")."""
    probabilities = np.asarray(probabilities, np.float64)
    rates, start = {}, 0
    for capability in suite:
        count = len(capability.texts())
        found = capability.failures(probabilities[start : start + count])
        rates[capability.name] = float(found.mean())
        start += count
    rates["mean"] = float(np.mean(list(rates.values())))
    return rates


def run_suite(predict: Predict, suite: list[Capability] | None = None) -> dict[str, float]:
    """Each capability's failure rate under `predict` (every text in one call), and the mean."""
    suite = build_suite() if suite is None else suite
    return failure_rates(suite, predict(suite_texts(suite)))
