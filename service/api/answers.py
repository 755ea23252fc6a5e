"""What the prediction endpoints answer: `answer_sentiment` and `answer_next_word` turn a valid
request into its response model. The routes (service.api.routes.predict) and the fast path
(service.api.fast_path) both call them, so a request gets the same answer either way. They take
the registry and settings from the app's state rather than through `Depends`. A sentiment request
with `"explain": true` is answered by the explainer (service.explain), outside the prediction
queue, its slots shared between callers (`service.api.auth.caller`, set by the key check).
"""

from fastapi import Response
from pydantic import BaseModel
from starlette.datastructures import State

from service.api.auth import caller
from service.api.schemas import (
    ExplainedSentimentBatchResponse,
    ExplainedSentimentResponse,
    ExplainedSentimentResult,
    ExplainedWord,
    Explanation,
    NextWordRequest,
    NextWordResponse,
    PhraseProbability,
    SentimentBatchResponse,
    SentimentRequest,
    SentimentResponse,
    SentimentResult,
    WordProbability,
    check_limits,
)
from service.explain.occlusion import Explained, Explainer
from service.serving.batching import Batcher
from service.serving.completion import phrases, suggest
from service.serving.registry import Registry


def json_response(model: BaseModel) -> Response:
    """The model as a JSON response, serialised once by pydantic."""
    return Response(model.model_dump_json(), media_type="application/json")


SentimentAnswer = (
    SentimentResponse
    | SentimentBatchResponse
    | ExplainedSentimentResponse
    | ExplainedSentimentBatchResponse
)


async def answer_sentiment(body: SentimentRequest, state: State) -> SentimentAnswer:
    """The answer to a valid sentiment request (422 past the limits, 503 when unavailable)."""
    check_limits(state.settings, body)
    registry: Registry = state.registry
    with registry.use("sentiment") as batcher:
        if body.explain:
            return await answer_explained(body, batcher, state.explainer)
        probabilities = await batcher.predict(body.texts or [body.text or ""])
    results = [SentimentResult.of(p) for p in probabilities]  # type: ignore[arg-type]
    version = batcher.servable.version
    if body.texts is None:
        return SentimentResponse(**results[0].model_dump(), model_version=version)
    return SentimentBatchResponse(results=results, model_version=version)


async def answer_explained(
    body: SentimentRequest, batcher: Batcher, explainer: Explainer
) -> ExplainedSentimentResponse | ExplainedSentimentBatchResponse:
    """Probabilities with explanations, all from one model version; they give way to the plain
    predictions of `batcher`."""
    texts = body.texts or [body.text or ""]
    servable = batcher.servable
    explained = await explainer.explain(servable, texts, batcher.busy, caller.get())
    results = [explained_result(t, e) for t, e in zip(texts, explained, strict=True)]
    if body.texts is None:
        return ExplainedSentimentResponse(**dict(results[0]), model_version=servable.version)
    return ExplainedSentimentBatchResponse(results=results, model_version=servable.version)


def explained_result(text: str, explained: Explained) -> ExplainedSentimentResult:
    """One text's result: its rounded probability and label, its weighted units in order."""
    words = [
        ExplainedWord(word=text[u.start : u.end], start=u.start, end=u.end, weight=round(w, 6))
        for u, w in zip(explained.units, explained.weights, strict=True)
    ]
    unit = "word" if explained.unit_words == 1 else "span"
    explanation = Explanation(unit=unit, span_words=explained.unit_words, words=words)
    return ExplainedSentimentResult(
        **SentimentResult.of(explained.probability).model_dump(), explanation=explanation
    )


async def answer_next_word(body: NextWordRequest, state: State) -> NextWordResponse:
    """The answer to a valid next-word request (422 past the limits, 503 when unavailable)."""
    check_limits(state.settings, body)
    registry: Registry = state.registry
    k, least = body.top_k, body.min_probability
    with registry.use("next_word") as batcher:
        found = await suggest(batcher, body.text, k, body.complete, least)
        ranked = None
        if body.phrase_words is not None:
            ranked = await phrases(batcher, found, body.phrase_words, k, least)
    predictions = [WordProbability(word=w, probability=round(p, 6)) for w, p in found.words]
    answer = NextWordResponse(
        predictions=predictions, completing=found.completing, model_version=batcher.servable.version
    )
    if ranked is not None:
        answer.phrases = [
            PhraseProbability(words=words, text=" ".join(words), probability=round(p, 6))
            for words, p in ranked
        ]
    return answer
