"""Prediction endpoints: sentiment of texts and the likeliest next words of a text."""

from fastapi import APIRouter

from service.deps import RegistryDep, SettingsDep
from service.routes.json_body import ERROR_RESPONSES, JsonBodyRoute
from service.schemas import (
    NextWordRequest,
    NextWordResponse,
    SentimentBatchResponse,
    SentimentRequest,
    SentimentResponse,
    SentimentResult,
    WordProbability,
    check_limits,
)

router = APIRouter(tags=["predict"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)


@router.post("/sentiment", response_model=SentimentResponse | SentimentBatchResponse)
async def predict_sentiment(
    body: SentimentRequest, registry: RegistryDep, settings: SettingsDep
) -> SentimentResponse | SentimentBatchResponse:
    """Probability that a text (or each text of a batch) is positive, with its label."""
    check_limits(settings, body)
    batcher = registry.get("sentiment")
    probabilities = await batcher.predict(body.texts or [body.text or ""])
    results = [SentimentResult.of(p) for p in probabilities]  # type: ignore[arg-type]
    version = batcher.servable.version
    if body.texts is None:
        return SentimentResponse(**results[0].model_dump(), model_version=version)
    return SentimentBatchResponse(results=results, model_version=version)


@router.post("/next-word", response_model=NextWordResponse)
async def predict_next_word(
    body: NextWordRequest, registry: RegistryDep, settings: SettingsDep
) -> NextWordResponse:
    """The `top_k` likeliest next words of a text, highest probability first."""
    check_limits(settings, body)
    batcher = registry.get("next_word")
    [pairs] = await batcher.predict([body.text], body.top_k)
    predictions = [
        WordProbability(word=word, probability=round(p, 6))
        for word, p in pairs  # type: ignore[union-attr]
    ]
    return NextWordResponse(predictions=predictions, model_version=batcher.servable.version)
