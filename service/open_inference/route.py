"""A route class for the Open Inference Protocol endpoints: errors answer `{"error": "..."}`.

The protocol's error object differs from the native endpoints' `{"detail": ...}`; the status codes
and headers (`Retry-After` on 503) come from the same handlers in `service.errors`, and a request
the route cannot validate is a 400, as the protocol has it. The body is read by the handlers
themselves: clients send JSON with no Content-Type (tritonclient) or binary tensor data after
the JSON header.
"""

from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from service.api.auth import REFUSED
from service.api.json_route import Handler
from service.errors import foreseen_error_handler
from service.open_inference.schemas import ErrorV2, InferenceRequest, InferenceResponse

# Error answers every V2 endpoint can give, for the OpenAPI document.
ERROR_RESPONSES_V2: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorV2, "description": "Unknown model or version"},
    503: {"model": ErrorV2, "description": "Not ready, overloaded or shutting down"},
}
# Those of the endpoints that need an API key (all but the health probes).
KEYED_RESPONSES_V2: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorV2, "description": f"{REFUSED} (only when the service has keys)"},
    **ERROR_RESPONSES_V2,
}

# The headers of an error that its protocol form keeps.
KEPT_HEADERS = ("retry-after", "allow", "www-authenticate")

INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": InferenceResponse,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        "description": "JSON, or with binary outputs: the JSON header, then the tensors' bytes",
    },
    400: {"model": ErrorV2, "description": "Malformed request, tensor, shape or datatype"},
    413: {"model": ErrorV2, "description": "Too many texts, a text too long or a body too large"},
    500: {"model": ErrorV2, "description": "The model failed on these texts"},
    **KEYED_RESPONSES_V2,
}
INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}
        },
    }
}


def error_message(detail: Any) -> str:
    """A sentence from a `detail`: itself, or the field errors joined."""
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg')}" for e in detail)
    return str(detail)


def as_protocol_error(response: Response) -> JSONResponse:
    """The same error as `{"error": "..."}`, with its Retry-After, Allow or WWW-Authenticate;
    422 becomes the protocol's 400."""
    detail = orjson.loads(bytes(response.body)).get("detail")
    status = 400 if response.status_code == 422 else response.status_code
    kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
    return JSONResponse({"error": error_message(detail)}, status, headers=kept)


class V2Route(APIRoute):
    """Foreseen errors (400, 401, 404, 413, 503, the model's 500) as the protocol's error
    object."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def handle_with_protocol_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                if (handler := foreseen_error_handler(exc)) is None:
                    raise
                return as_protocol_error(await handler(request, exc))

        return handle_with_protocol_errors


def document_request_body(openapi: dict[str, Any]) -> None:
    """Put InferenceRequest and the models it holds into the document's components."""
    _, schemas = models_json_schema(
        [(InferenceRequest, "validation")], ref_template="#/components/schemas/{model}"
    )
    openapi["components"]["schemas"].update(schemas["$defs"])
