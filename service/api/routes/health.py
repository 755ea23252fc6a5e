"""Liveness and readiness probes."""

from fastapi import APIRouter, Request

from service.api.deps import RegistryDep, SettingsDep
from service.api.public import public_problem
from service.api.schemas import ErrorResponse, HealthResponse, ReadyResponse
from service.errors import ServiceUnavailableError

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthResponse)
async def read_health() -> HealthResponse:
    """200 while the process runs."""
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={
        503: {"model": ErrorResponse, "description": "A model is not loaded yet, or shutting down"}
    },
)
async def read_ready(
    request: Request, registry: RegistryDep, settings: SettingsDep
) -> ReadyResponse:
    """200 once both models are loaded, 503 before and while shutting down."""
    if missing := registry.missing():
        why = [
            public_problem(r["problem"], settings.model_dir)
            for r in registry.promotion()
            if r["name"] in missing and r["problem"]
        ]
        detail = f"not ready: no {' or '.join(missing)} model loaded yet"
        raise ServiceUnavailableError("; ".join([detail, *why]), 5)
    if request.app.state.draining:
        raise ServiceUnavailableError("not ready: shutting down", 5)
    versions = {b.servable.name: b.servable.version for b in registry.served()}
    promoted = {row["name"]: row["promoted_version"] for row in registry.promotion()}
    return ReadyResponse(models=versions, policy=registry.has_policy(), promoted=promoted)
