"""Prediction routes: sentiment of texts and the likeliest next words of a text.

They validate (FastAPI), answer with `service.api.answers` and send their JSON themselves: the
response models still document the answers in /docs, without a second validation of what was
just built.
"""

from fastapi import APIRouter, Request, Response

from service.api.answers import (
    SentimentAnswer,
    answer_next_word,
    answer_sentiment,
    json_response,
)
from service.api.auth import UNAUTHORIZED, ApiKey
from service.api.json_route import ERROR_RESPONSES, JsonBodyRoute
from service.api.schemas import NextWordRequest, NextWordResponse, SentimentRequest

router = APIRouter(
    tags=["predict"],
    route_class=JsonBodyRoute,
    responses={**UNAUTHORIZED, **ERROR_RESPONSES},
    dependencies=[ApiKey],
)


@router.post("/sentiment", response_model=SentimentAnswer)
async def predict_sentiment(body: SentimentRequest, request: Request) -> Response:
    """Probability that a text (or each text of a batch) is positive, with its label."""
    return json_response(await answer_sentiment(body, request.app.state))


@router.post("/next-word", response_model=NextWordResponse)
async def predict_next_word(body: NextWordRequest, request: Request) -> Response:
    """The `top_k` likeliest next words of a text, highest probability first."""
    return json_response(await answer_next_word(body, request.app.state))
