"""The served model versions, their metadata and what the promotion policy asks."""

from fastapi import APIRouter

from service.api.auth import UNAUTHORIZED, ApiKey
from service.api.deps import RegistryDep
from service.api.schemas import ModelInfo, ModelPromotion, ModelsResponse

router = APIRouter(tags=["operations"], responses=UNAUTHORIZED, dependencies=[ApiKey])


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep) -> ModelsResponse:
    """Each served model version with its `metadata.json`; the promoted and loaded versions."""
    return ModelsResponse(
        models=[ModelInfo(**info) for info in registry.describe()],
        policy=registry.has_policy(),
        promotion=[ModelPromotion(**row) for row in registry.promotion()],
    )
