"""The words a next-word model version suggests, indexed by prefix: whether a typed fragment is a
whole word of the vocabulary, and whether any word extends it.

The index is built once per loaded version from the words its graph ranks (every word but
punctuation, padding and the out-of-vocabulary token), so it needs nothing beside the SavedModel.
Words are kept sorted: the words that start with a prefix are one contiguous range, found by two
binary searches, with no pass over the vocabulary per request.
"""

from bisect import bisect_left
from dataclasses import dataclass

# Sorts after every character a word can hold: `prefix + LAST` bounds the prefix's range.
LAST = "\U0010ffff"


@dataclass(frozen=True)
class WordIndex:
    """The vocabulary's suggestible words, lower-cased and sorted."""

    sorted_words: tuple[str, ...]

    @classmethod
    def of(cls, words: list[str]) -> "WordIndex":
        return cls(tuple(sorted({word.lower() for word in words if word})))

    def __len__(self) -> int:
        return len(self.sorted_words)

    def span(self, prefix: str) -> tuple[int, int]:
        """The range of sorted words that start with `prefix` (lower-cased)."""
        prefix = prefix.lower()
        start = bisect_left(self.sorted_words, prefix)
        return start, bisect_left(self.sorted_words, prefix + LAST, start)

    def count(self, prefix: str) -> int:
        """How many words start with `prefix` (case-insensitively)."""
        start, end = self.span(prefix)
        return end - start

    def is_word(self, fragment: str) -> bool:
        """Whether `fragment` is itself a whole word (case-insensitively)."""
        fragment = fragment.lower()
        start = bisect_left(self.sorted_words, fragment)
        return start < len(self.sorted_words) and self.sorted_words[start] == fragment
