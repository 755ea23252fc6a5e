"""Prometheus metrics in the text exposition format."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.auth import UNAUTHORIZED, MetricsKey
from service.api.deps import MetricsDep

router = APIRouter(tags=["operations"], responses=UNAUTHORIZED, dependencies=[MetricsKey])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def read_metrics(metrics: MetricsDep) -> Response:
    """Request counts and latencies, batching figures and the served model versions (with keys
    set: a METRICS_API_KEYS key, or without those an API key)."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
