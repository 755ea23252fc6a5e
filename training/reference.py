"""What the texts a model was trained for look like: the reference distributions in metadata.json.

The service compares the texts it is sent with these (population stability index over a sliding
window, `service/drift.py`), so an operator sees when the traffic stops looking like IMDB reviews
or the answers shift. Each distribution is a histogram of the validation reviews over fixed bin
edges: bin i counts the values `<= edges[i]` (and above the edge before it), the last bin the
values above every edge, the way a Prometheus histogram's `le` buckets count. The service's
histograms in /metrics use the same edges.

- `token_count`: tokens the model's tokenizer makes of a text, before a model cuts it;
- `oov_share`: the share of those tokens outside the vocabulary (1 for a text of no tokens);
- `positive_probability`: the sentiment model's answer (sentiment only).
"""

from __future__ import annotations

import numpy as np

from training.text import OOV_ID

# Upper bin edges; the last bin holds everything above the last edge.
EDGES: dict[str, tuple[float, ...]] = {
    "token_count": (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
    "oov_share": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
    "positive_probability": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
}
INPUT_FEATURES = ("token_count", "oov_share")


def histogram(values: np.ndarray, edges: tuple[float, ...]) -> list[int]:
    """Counts of `values` per bin: `len(edges) + 1` bins, `le` semantics (see the docstring)."""
    bins = np.searchsorted(np.asarray(edges, np.float64), values, side="left")
    return np.bincount(bins, minlength=len(edges) + 1).tolist()


def text_stats(ids: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Token count and out-of-vocabulary share of each text's token ids."""
    counts = np.array([len(row) for row in ids], np.int64)
    oov = np.array([int(np.sum(row == OOV_ID)) for row in ids], np.int64)
    share = np.where(counts > 0, oov / np.maximum(counts, 1), 1.0)
    return {"token_count": counts, "oov_share": share}


def reference(features: dict[str, np.ndarray], source: str) -> dict[str, object]:
    """The reference block of metadata.json: per feature its edges, counts and mean."""
    texts = len(next(iter(features.values())))
    return {
        "source": source,
        "texts": texts,
        "features": {
            name: {
                "edges": list(EDGES[name]),
                "counts": histogram(values, EDGES[name]),
                "mean": round(float(np.mean(values)), 6) if texts else 0.0,
            }
            for name, values in features.items()
        },
    }


def references(ids: list[np.ndarray], probabilities: np.ndarray) -> dict[str, dict[str, object]]:
    """Model name -> its reference, from the validation reviews' token ids and answers."""
    stats = text_stats(ids)
    source = "validation reviews"
    return {
        "sentiment": reference({**stats, "positive_probability": probabilities}, source),
        "next_word": reference(stats, source),
    }
