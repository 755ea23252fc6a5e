"""The two models as the Open Inference Protocol sees them: their tensors, and inference.

Both take `texts`, a BYTES tensor of shape [n]. Sentiment gives `positive_probability` (FP32,
[n]); next word gives `words` (BYTES, [n, k]) and `probabilities` (FP32, [n, k]), with k from
the request's `parameters.top_k` (default 5). Inference goes through the served version's
batcher, so these requests share model calls with /sentiment and /next-word, and values are
rounded to 6 digits as theirs are.
"""

from fastapi import HTTPException, Response

from service.open_inference.codec import Tensor, bad, binary_parts, read_strings, render
from service.open_inference.schemas import InferenceRequest, ModelMetadata, TensorMetadata
from service.serving.batching import Batcher
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
    ],
}
DEFAULT_TOP_K = 5


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


def read_texts(request: InferenceRequest, rest: bytes, settings: Settings) -> list[str]:
    """The texts of the one input `texts`: 400 if malformed, 413 past the configured limits."""
    if [tensor.name for tensor in request.inputs] != [INPUT.name]:
        raise bad(f"expected one input named {INPUT.name!r} (BYTES, shape [n])")
    [binary] = binary_parts(request, rest)
    texts = read_strings(request.inputs[0], binary, settings.max_batch_texts)
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise HTTPException(413, f"text {index}: at most {settings.max_text_chars} characters")
        if not text.strip():
            raise bad(f"text {index} is empty or only whitespace")
    return texts


def top_k(request: InferenceRequest, settings: Settings) -> int:
    """`parameters.top_k`: an integer from 1 to the configured maximum."""
    k = (request.parameters or {}).get("top_k", DEFAULT_TOP_K)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= settings.max_top_k:
        raise bad(f"parameters.top_k must be an integer from 1 to {settings.max_top_k}")
    return k


def binary_outputs(request: InferenceRequest, names: list[str]) -> set[str]:
    """The outputs to send (all unless some are named), those to send in binary, or 400."""
    default = bool((request.parameters or {}).get("binary_data_output", False))
    if request.outputs is None:
        return set(names) if default else set()
    if unknown := [o.name for o in request.outputs if o.name not in names]:
        raise bad(f"unknown output {unknown[0]!r}; outputs: {', '.join(names)}")
    return {o.name for o in request.outputs if (o.parameters or {}).get("binary_data", default)}


def tensors(name: str, predictions: list[Prediction]) -> list[Tensor]:
    """The model's output tensors for its predictions, values rounded to 6 digits."""
    n = len(predictions)
    if name == "sentiment":
        probabilities = [round(p, 6) for p in predictions]  # type: ignore[arg-type]
        return [Tensor("positive_probability", "FP32", [n], probabilities)]
    rows: list[list[tuple[str, float]]] = predictions  # type: ignore[assignment]
    k = len(rows[0])
    words = [word for row in rows for word, _ in row]
    probabilities = [round(p, 6) for row in rows for _, p in row]
    return [
        Tensor("words", "BYTES", [n, k], words),
        Tensor("probabilities", "FP32", [n, k], probabilities),
    ]


async def infer(
    batcher: Batcher, request: InferenceRequest, rest: bytes, settings: Settings
) -> Response:
    """Run the request's texts through the batcher and answer the requested outputs."""
    name = batcher.servable.name
    texts = read_texts(request, rest, settings)
    k = top_k(request, settings) if name == "next_word" else 1
    names = [tensor.name for tensor in OUTPUT_TENSORS[name]]
    binary = binary_outputs(request, names)
    wanted = names if request.outputs is None else [o.name for o in request.outputs]
    predictions = await batcher.predict(texts, k)
    head = {"model_name": name, "model_version": batcher.servable.version, "id": request.id}
    answers = [t for t in tensors(name, predictions) if t.name in wanted]
    return render({key: value for key, value in head.items() if value is not None}, answers, binary)
