"""Open Inference Protocol (KServe V2) REST endpoints: health, metadata and inference.

Follows kserve/open-inference-protocol `inference_rest.md`, with Triton's binary tensor data
extension; `/v2/models/{name}/versions/{version}/...` answers for the served version only.
"""

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response

from service.api.auth import ApiKey
from service.api.deps import RegistryDep, SettingsDep
from service.api.json_route import is_json
from service.errors import ServiceUnavailableError
from service.open_inference.codec import parse_request
from service.open_inference.inference import batcher_for, infer, metadata
from service.open_inference.route import (
    ERROR_RESPONSES_V2,
    INFER_BODY,
    INFER_RESPONSES,
    KEYED_RESPONSES_V2,
    V2Route,
)
from service.open_inference.schemas import (
    LiveResponse,
    ModelMetadata,
    ModelReadyResponse,
    ServerMetadata,
    ServerReadyResponse,
)
from service.serving.registry import Registry

router = APIRouter(prefix="/v2", tags=["open inference protocol"], route_class=V2Route)
# Every endpoint but the health probes needs an API key (when the service has keys).
KEYED = [ApiKey]
SERVER = ServerMetadata(
    name="imdb-lstm-service", version="1.0.0", extensions=["binary_tensor_data"]
)


def check_ready(request: Request, registry: Registry) -> None:
    """503 while a model is missing or the service is shutting down."""
    if missing := registry.missing():
        raise ServiceUnavailableError(f"not ready: no {' or '.join(missing)} model loaded yet", 5)
    if request.app.state.draining:
        raise ServiceUnavailableError("not ready: shutting down", 5)


def check_content_type(content_type: str, header_length: str | None) -> None:
    """415 unless the body is JSON by its Content-Type, or binary tensor data (with its
    Inference-Header-Content-Length) sent as application/octet-stream. No Content-Type is
    taken as JSON: tritonclient sends none. What it refuses are the types a web page may send
    from a browser without asking the service first (text/plain, forms)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if not media or is_json(media):
        return
    if header_length is not None and media == "application/octet-stream":
        return
    raise HTTPException(
        415,
        "Content-Type must be application/json (or application/octet-stream with "
        "Inference-Header-Content-Length)",
    )


@router.get("", response_model=ServerMetadata, responses=KEYED_RESPONSES_V2, dependencies=KEYED)
async def read_server_metadata() -> ServerMetadata:
    """The server's name, version and protocol extensions."""
    return SERVER


@router.get("/health/live", response_model=LiveResponse)
async def read_live() -> LiveResponse:
    """200 while the process runs."""
    return LiveResponse()


@router.get("/health/ready", response_model=ServerReadyResponse, responses=ERROR_RESPONSES_V2)
async def read_server_ready(request: Request, registry: RegistryDep) -> ServerReadyResponse:
    """200 once both models are loaded, 503 before and while shutting down."""
    check_ready(request, registry)
    return ServerReadyResponse()


@router.get(
    "/models/{name}",
    response_model=ModelMetadata,
    responses=KEYED_RESPONSES_V2,
    dependencies=KEYED,
)
@router.get(
    "/models/{name}/versions/{version}",
    response_model=ModelMetadata,
    responses=KEYED_RESPONSES_V2,
    dependencies=KEYED,
)
async def read_model_metadata(
    name: str, registry: RegistryDep, version: str | None = None
) -> ModelMetadata:
    """The model's served version, platform and input and output tensors."""
    return metadata(batcher_for(registry, name, version))


@router.get(
    "/models/{name}/ready",
    response_model=ModelReadyResponse,
    responses=KEYED_RESPONSES_V2,
    dependencies=KEYED,
)
@router.get(
    "/models/{name}/versions/{version}/ready",
    response_model=ModelReadyResponse,
    responses=KEYED_RESPONSES_V2,
    dependencies=KEYED,
)
async def read_model_ready(
    name: str, registry: RegistryDep, version: str | None = None
) -> ModelReadyResponse:
    """200 when the model (at this version) can answer; 404 unknown, 503 not loaded yet."""
    batcher_for(registry, name, version)
    return ModelReadyResponse(name=name)


@router.post(
    "/models/{name}/infer",
    responses=INFER_RESPONSES,
    openapi_extra=INFER_BODY,
    dependencies=KEYED,
)
@router.post(
    "/models/{name}/versions/{version}/infer",
    responses=INFER_RESPONSES,
    openapi_extra=INFER_BODY,
    dependencies=KEYED,
)
async def infer_model(
    name: str,
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    inference_header_content_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    version: str | None = None,
) -> Response:
    """Inference on a BYTES tensor `texts` of shape [n], in JSON or binary tensor data."""
    check_content_type(request.headers.get("content-type", ""), inference_header_content_length)
    with batcher_for(registry, name, version).held() as batcher:
        body, rest = parse_request(await request.body(), inference_header_content_length, settings)
        return await infer(batcher, body, rest, settings)


@router.api_route(
    "/{path:path}", methods=["GET", "POST"], include_in_schema=False, dependencies=KEYED
)
async def read_unknown(path: str) -> Response:
    """Any other /v2 path: 404 as the protocol's error object."""
    raise HTTPException(404, f"no such endpoint: /v2/{path}")
