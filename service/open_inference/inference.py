"""The two models as the Open Inference Protocol sees them: their tensors, and inference.

Both take `texts`, a BYTES tensor of shape [n]. Sentiment gives `positive_probability` (FP32,
[n]); next word gives `words` (BYTES, [n, m]), `probabilities` (FP32, [n, m]) and `completing`
(BYTES, [n]). Next word reads the request's parameters as POST /next-word reads its fields:
`top_k` (default 5), `complete` (true, false or null), `min_probability` and `phrase_words`
(which adds `phrases`, BYTES [n, p], the words of each phrase joined by spaces, and
`phrase_probabilities`, FP32 [n, p]). Rows may hold fewer than `top_k` suggestions (a
completion, `min_probability`): m is the longest row's length and shorter rows are padded with
the empty word and probability 0. `completing` is the fragment each row completes, the empty
string for a next word. An empty text asks for the first words of a text. Inference goes
through the same code as /next-word and the served version's batcher, so these requests share
model calls with /sentiment and /next-word, and values are rounded to 6 digits as theirs are.
"""

import asyncio

from fastapi import HTTPException, Response

from service.open_inference.codec import Tensor, bad, binary_parts, read_strings, render
from service.open_inference.schemas import InferenceRequest, ModelMetadata, TensorMetadata
from service.serving.batching import Batcher
from service.serving.completion import Suggestions, phrases, suggest
from service.serving.registry import Registry
from service.serving.servable import Prediction
from service.serving.store import MODEL_NAMES
from service.settings import Settings

PLATFORM = "tensorflow_savedmodel"
INPUT = TensorMetadata(name="texts", datatype="BYTES", shape=[-1])
OUTPUT_TENSORS: dict[str, list[TensorMetadata]] = {
    "sentiment": [TensorMetadata(name="positive_probability", datatype="FP32", shape=[-1])],
    "next_word": [
        TensorMetadata(name="words", datatype="BYTES", shape=[-1, -1]),
        TensorMetadata(name="probabilities", datatype="FP32", shape=[-1, -1]),
        TensorMetadata(name="completing", datatype="BYTES", shape=[-1]),
    ],
}
# Outputs of next word only given to a request with `parameters.phrase_words`.
PHRASE_TENSORS = [
    TensorMetadata(name="phrases", datatype="BYTES", shape=[-1, -1]),
    TensorMetadata(name="phrase_probabilities", datatype="FP32", shape=[-1, -1]),
]
DEFAULT_TOP_K = 5
MAX_PHRASE_WORDS = 3


def batcher_for(registry: Registry, name: str, version: str | None = None) -> Batcher:
    """The batcher of `name`'s served version: 404 for another model or version, 503 if none."""
    if name not in MODEL_NAMES:
        raise HTTPException(404, f"unknown model {name!r}; models: {', '.join(MODEL_NAMES)}")
    batcher = registry.get(name)
    if version is not None and version != batcher.servable.version:
        served_version = batcher.servable.version
        raise HTTPException(
            404, f"{name} version {version!r} is not served (it serves {served_version})"
        )
    return batcher


def metadata(batcher: Batcher) -> ModelMetadata:
    """The model's metadata: its served version and tensors."""
    name = batcher.servable.name
    return ModelMetadata(
        name=name,
        versions=[batcher.servable.version],
        platform=PLATFORM,
        inputs=[INPUT],
        outputs=OUTPUT_TENSORS[name],
    )


def read_texts(
    request: InferenceRequest, rest: bytes, settings: Settings, empty_ok: bool = False
) -> list[str]:
    """The texts of the one input `texts`: 400 if malformed, 413 past the configured limits."""
    if [tensor.name for tensor in request.inputs] != [INPUT.name]:
        raise bad(f"expected one input named {INPUT.name!r} (BYTES, shape [n])")
    [binary] = binary_parts(request, rest)
    texts = read_strings(request.inputs[0], binary, settings.max_batch_texts)
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise HTTPException(413, f"text {index}: at most {settings.max_text_chars} characters")
        if not empty_ok and not text.strip():
            raise bad(f"text {index} is empty or only whitespace")
    return texts


def top_k(request: InferenceRequest, settings: Settings) -> int:
    """`parameters.top_k`: an integer from 1 to the configured maximum."""
    k = (request.parameters or {}).get("top_k", DEFAULT_TOP_K)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= settings.max_top_k:
        raise bad(f"parameters.top_k must be an integer from 1 to {settings.max_top_k}")
    return k


def typing_parameters(request: InferenceRequest) -> tuple[bool | None, float, int | None]:
    """`parameters.complete` (bool or null), `min_probability` (0 to 1, default 0) and
    `phrase_words` (1 to 3, or null) of a next-word request, or 400."""
    parameters = request.parameters or {}
    complete = parameters.get("complete")
    if complete is not None and not isinstance(complete, bool):
        raise bad("parameters.complete must be true, false or null")
    least = parameters.get("min_probability", 0.0)
    if isinstance(least, bool) or not isinstance(least, int | float) or not 0 <= least <= 1:
        raise bad("parameters.min_probability must be a number from 0 to 1")
    length = parameters.get("phrase_words")
    if length is not None and (
        isinstance(length, bool)
        or not isinstance(length, int)
        or not 1 <= length <= MAX_PHRASE_WORDS
    ):
        raise bad(f"parameters.phrase_words must be an integer from 1 to {MAX_PHRASE_WORDS}")
    return complete, float(least), length


def binary_outputs(request: InferenceRequest, names: list[str]) -> set[str]:
    """The outputs to send (all unless some are named), those to send in binary, or 400."""
    default = bool((request.parameters or {}).get("binary_data_output", False))
    if request.outputs is None:
        return set(names) if default else set()
    if unknown := [o.name for o in request.outputs if o.name not in names]:
        raise bad(f"unknown output {unknown[0]!r}; outputs: {', '.join(names)}")
    return {o.name for o in request.outputs if (o.parameters or {}).get("binary_data", default)}


def sentiment_tensors(predictions: list[Prediction]) -> list[Tensor]:
    """The sentiment model's output tensor, values rounded to 6 digits."""
    probabilities = [round(p, 6) for p in predictions]  # type: ignore[arg-type]
    return [Tensor("positive_probability", "FP32", [len(predictions)], probabilities)]


def word_tensors(names: tuple[str, str], rows: list[list[tuple[str, float]]]) -> list[Tensor]:
    """Rows of (words, probability) as a BYTES and an FP32 tensor [n, m], rows padded to the
    longest with the empty word and probability 0, values rounded to 6 digits."""
    m = max((len(row) for row in rows), default=0)
    padded = [row + [("", 0.0)] * (m - len(row)) for row in rows]
    words = [word for row in padded for word, _ in row]
    probabilities = [round(p, 6) for row in padded for _, p in row]
    return [
        Tensor(names[0], "BYTES", [len(rows), m], words),
        Tensor(names[1], "FP32", [len(rows), m], probabilities),
    ]


async def next_word_tensors(
    batcher: Batcher, request: InferenceRequest, texts: list[str], settings: Settings
) -> list[Tensor]:
    """Each text's suggestions as POST /next-word makes them (service.serving.completion)."""
    k = top_k(request, settings)
    complete, least, length = typing_parameters(request)
    found: list[Suggestions] = list(
        await asyncio.gather(*(suggest(batcher, t, k, complete, least) for t in texts))
    )
    out = word_tensors(("words", "probabilities"), [s.words for s in found])
    out.append(Tensor("completing", "BYTES", [len(texts)], [s.completing or "" for s in found]))
    if length is not None:
        ranked = await asyncio.gather(*(phrases(batcher, s, length, k, least) for s in found))
        rows = [[(" ".join(words), p) for words, p in row] for row in ranked]
        out.extend(word_tensors(("phrases", "phrase_probabilities"), rows))
    return out


async def infer(
    batcher: Batcher, request: InferenceRequest, rest: bytes, settings: Settings
) -> Response:
    """Run the request's texts through the batcher and answer the requested outputs."""
    name = batcher.servable.name
    texts = read_texts(request, rest, settings, empty_ok=name == "next_word")
    names = [tensor.name for tensor in OUTPUT_TENSORS[name]]
    if name == "next_word" and (request.parameters or {}).get("phrase_words") is not None:
        names += [tensor.name for tensor in PHRASE_TENSORS]
    binary = binary_outputs(request, names)
    wanted = names if request.outputs is None else [o.name for o in request.outputs]
    if name == "next_word":
        out = await next_word_tensors(batcher, request, texts, settings)
    else:
        out = sentiment_tensors(await batcher.predict(texts))
    head = {"model_name": name, "model_version": batcher.servable.version, "id": request.id}
    answers = [t for t in out if t.name in wanted]
    return render({key: value for key, value in head.items() if value is not None}, answers, binary)
