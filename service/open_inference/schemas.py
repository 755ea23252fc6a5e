"""Request and response bodies of the Open Inference Protocol (KServe V2) REST endpoints.

Field names follow kserve/open-inference-protocol `inference_rest.md`. Requests tolerate fields
the protocol does not name (clients add some, such as kserve's `model_name`); `parameters` are
free-form objects, as the protocol has them.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Parameters = dict[str, Any]


class TensorMetadata(BaseModel):
    """A tensor a model takes or gives: its name, datatype and shape (-1: any size)."""

    name: str = Field(examples=["texts"])
    datatype: str = Field(examples=["BYTES"])
    shape: list[int] = Field(examples=[[-1]])


class ServerMetadata(BaseModel):
    """The server's name, version and protocol extensions."""

    name: str
    version: str
    extensions: list[str]


class ModelMetadata(BaseModel):
    """A model's served versions, platform and tensors."""

    name: str = Field(examples=["sentiment"])
    versions: list[str] = Field(examples=[["3"]])
    platform: str = Field(examples=["tensorflow_savedmodel"])
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class LiveResponse(BaseModel):
    """The process runs."""

    live: Literal[True] = True


class ServerReadyResponse(BaseModel):
    """Every model is loaded and the service is not shutting down."""

    ready: Literal[True] = True


class ModelReadyResponse(BaseModel):
    """The model's served version can answer."""

    name: str
    ready: Literal[True] = True


class RequestInput(BaseModel):
    """An input tensor: JSON `data` (flat or nested, row-major), or binary data after the JSON
    header when `parameters.binary_data_size` is given."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    shape: list[StrictInt]
    datatype: StrictStr
    parameters: Parameters | None = None
    data: list[Any] | None = None


class RequestOutput(BaseModel):
    """An output the client wants; `parameters.binary_data: true` asks for it in binary."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    parameters: Parameters | None = None


class InferenceRequest(BaseModel):
    """The texts as a BYTES tensor; `parameters.top_k` sets how many next words to return."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "inputs": [
                        {"name": "texts", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}
                    ],
                    "parameters": {"top_k": 3},
                }
            ]
        },
    )

    id: StrictStr | None = None
    parameters: Parameters | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    """An output tensor, its values flat in row-major order (or after the JSON in binary)."""

    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    """The outputs of one inference request."""

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]


class ErrorV2(BaseModel):
    """What went wrong, as the protocol's error object."""

    error: str
