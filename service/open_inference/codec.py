"""Open Inference Protocol tensors on the wire: JSON `data`, and Triton's binary tensor data
extension (the JSON header, then each binary tensor's bytes; its length in the
`Inference-Header-Content-Length` header).

BYTES elements in binary are each a 4-byte little-endian length and the bytes; FP32 elements are
little-endian floats. Anything malformed is a 400 whose message says what is wrong.
"""

import struct
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import orjson
from fastapi import HTTPException, Response
from pydantic import ValidationError

from service.open_inference.schemas import InferenceRequest, RequestInput, ResponseOutput

BINARY_SIZE = "binary_data_size"


@dataclass
class Tensor:
    """An output tensor: its values flat, in row-major order."""

    name: str
    datatype: str
    shape: list[int]
    values: list[Any]


def bad(message: str) -> HTTPException:
    """The 400 of a malformed request."""
    return HTTPException(400, message)


def parse_request(body: bytes, header_length: str | None) -> tuple[InferenceRequest, bytes]:
    """The JSON part of a body as a request, and the binary bytes that follow it."""
    json_size = len(body)
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise bad(f"Inference-Header-Content-Length {header_length!r} is not a length <= body")
        json_size = int(header_length)
    try:
        request = InferenceRequest.model_validate(orjson.loads(body[:json_size]))
    except orjson.JSONDecodeError as exc:
        raise bad(f"the request is not valid JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise bad(f"invalid inference request: {where}: {first['msg']}") from None
    return request, body[json_size:]


def binary_parts(request: InferenceRequest, rest: bytes) -> list[bytes | None]:
    """Each input's binary bytes (None for JSON data), cut from the bytes after the header."""
    parts: list[bytes | None] = []
    offset = 0
    for tensor in request.inputs:
        size = (tensor.parameters or {}).get(BINARY_SIZE)
        if size is None:
            parts.append(None)
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(f"input {tensor.name!r}: binary_data_size must be a non-negative integer")
        parts.append(rest[offset : offset + size])
        offset += size
    if offset != len(rest):
        raise bad(f"binary data holds {len(rest)} bytes, the inputs declare {offset}")
    return parts


def read_strings(tensor: RequestInput, binary: bytes | None) -> list[str]:
    """The UTF-8 strings of a one-dimensional BYTES tensor."""
    if tensor.datatype != "BYTES":
        raise bad(f"input {tensor.name!r} must be BYTES, not {tensor.datatype}")
    if len(tensor.shape) != 1 or tensor.shape[0] < 1:
        raise bad(f"input {tensor.name!r} must have shape [n] with n >= 1, not {tensor.shape}")
    if binary is not None and tensor.data is not None:
        raise bad(f"input {tensor.name!r} has both data and binary_data_size")
    if binary is None and tensor.data is None:
        raise bad(f"input {tensor.name!r} has no data")
    items = split_bytes(tensor.name, binary) if binary is not None else flatten(tensor.data)
    if len(items) != prod(tensor.shape):
        raise bad(f"input {tensor.name!r} holds {len(items)} elements, shape {tensor.shape}")
    try:
        return [item if isinstance(item, str) else item.decode("utf-8") for item in items]
    except (AttributeError, UnicodeDecodeError):
        raise bad(f"input {tensor.name!r}: every element must be a UTF-8 string") from None


def flatten(data: Any) -> list[Any]:
    """Nested lists in row-major order."""
    if isinstance(data, list):
        return [item for part in data for item in flatten(part)]
    return [data]


def split_bytes(name: str, data: bytes) -> list[bytes]:
    """Binary BYTES elements: a 4-byte little-endian length, then that many bytes, each."""
    items, offset = [], 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise bad(f"input {name!r}: binary data ends inside an element's length")
        (size,) = struct.unpack_from("<I", data, offset)
        if offset + 4 + size > len(data):
            raise bad(f"input {name!r}: binary element of {size} bytes runs past the data")
        items.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return items


def to_bytes(tensor: Tensor) -> bytes:
    """The binary form of an FP32 or BYTES tensor."""
    if tensor.datatype == "FP32":
        return np.asarray(tensor.values, dtype="<f4").tobytes()
    encoded = [str(value).encode("utf-8") for value in tensor.values]
    return b"".join(struct.pack("<I", len(item)) + item for item in encoded)


def render(head: dict[str, Any], tensors: list[Tensor], binary: set[str]) -> Response:
    """The response: JSON, or the JSON header and the binary outputs of the names in `binary`."""
    outputs, tail = [], []
    for tensor in tensors:
        output = ResponseOutput(name=tensor.name, shape=tensor.shape, datatype=tensor.datatype)
        if tensor.name in binary:
            tail.append(to_bytes(tensor))
            output.parameters = {BINARY_SIZE: len(tail[-1])}
        else:
            output.data = tensor.values
        outputs.append(output.model_dump(exclude_none=True))
    header = orjson.dumps({**head, "outputs": outputs})
    if not tail:
        return Response(header, media_type="application/json")
    return Response(
        b"".join([header, *tail]),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
