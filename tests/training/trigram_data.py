"""Token streams with a strong trigram structure, shared by the trigram model's and the
baseline's tests."""

from __future__ import annotations

import numpy as np

VOCAB = 40


def trigram_documents(count: int, seed: int) -> list[np.ndarray]:
    """w_t = (3 u + 5 v) mod 38 + 2 nine times in ten, else a random word ([UNK] one time in 5)."""
    rng = np.random.default_rng(seed)
    documents = []
    for _ in range(count):
        tokens = list(rng.integers(2, VOCAB, size=2))
        for _ in range(rng.integers(20, 60)):
            u, v = tokens[-2], tokens[-1]
            if rng.random() < 0.9:
                tokens.append((3 * u + 5 * v) % (VOCAB - 2) + 2)
            else:
                tokens.append(1 if rng.random() < 0.2 else rng.integers(2, VOCAB))
        documents.append(np.array(tokens, dtype=np.int32))
    return documents
