"""The served model versions, their metadata and what the promotion policy asks."""

from fastapi import APIRouter

from service.api.auth import UNAUTHORIZED, ApiKey
from service.api.deps import RegistryDep, SettingsDep
from service.api.public import public_metadata, public_problem
from service.api.schemas import ModelInfo, ModelPromotion, ModelsResponse

router = APIRouter(tags=["operations"], responses=UNAUTHORIZED, dependencies=[ApiKey])


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep, settings: SettingsDep) -> ModelsResponse:
    """Each served model version with its `metadata.json` (data files by name and checksum);
    the promoted and loaded versions."""
    store = settings.model_dir
    return ModelsResponse(
        models=[
            ModelInfo(**{**info, "metadata": public_metadata(info["metadata"])})
            for info in registry.describe()
        ],
        policy=registry.has_policy(),
        promotion=[
            ModelPromotion(
                **{**row, "problem": row["problem"] and public_problem(row["problem"], store)}
            )
            for row in registry.promotion()
        ],
    )
