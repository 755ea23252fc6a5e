"""The served model versions and their metadata."""

from fastapi import APIRouter

from service.api.deps import RegistryDep
from service.api.schemas import ModelInfo, ModelsResponse

router = APIRouter(tags=["operations"])


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep) -> ModelsResponse:
    """Each served model version with its `metadata.json`."""
    return ModelsResponse(models=[ModelInfo(**info) for info in registry.describe()])
