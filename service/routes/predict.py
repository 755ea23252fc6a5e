"""Prediction endpoints: sentiment of texts and the likeliest next words of a text.

These are the hot path, so they take the registry and settings from `request.app.state` rather
than through `Depends` (FastAPI's bookkeeping per dependency was about a sixth of the event
loop's time per request under load), and they send their JSON themselves: the response models
still document the answers in /docs, without a second validation of what was just built.
"""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from service.registry import Registry
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


def json_response(model: BaseModel) -> Response:
    """The model as a JSON response, serialised once by pydantic."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.post("/sentiment", response_model=SentimentResponse | SentimentBatchResponse)
async def predict_sentiment(body: SentimentRequest, request: Request) -> Response:
    """Probability that a text (or each text of a batch) is positive, with its label."""
    check_limits(request.app.state.settings, body)
    registry: Registry = request.app.state.registry
    batcher = registry.get("sentiment")
    probabilities = await batcher.predict(body.texts or [body.text or ""])
    results = [SentimentResult.of(p) for p in probabilities]  # type: ignore[arg-type]
    version = batcher.servable.version
    if body.texts is None:
        return json_response(SentimentResponse(**results[0].model_dump(), model_version=version))
    return json_response(SentimentBatchResponse(results=results, model_version=version))


@router.post("/next-word", response_model=NextWordResponse)
async def predict_next_word(body: NextWordRequest, request: Request) -> Response:
    """The `top_k` likeliest next words of a text, highest probability first."""
    check_limits(request.app.state.settings, body)
    registry: Registry = request.app.state.registry
    batcher = registry.get("next_word")
    [pairs] = await batcher.predict([body.text], body.top_k)
    predictions = [
        WordProbability(word=word, probability=round(p, 6))
        for word, p in pairs  # type: ignore[union-attr]
    ]
    return json_response(
        NextWordResponse(predictions=predictions, model_version=batcher.servable.version)
    )
