"""Open Inference Protocol tensors on the wire: JSON `data`, and Triton's binary tensor data
extension (the JSON header, then each binary tensor's bytes; its length in the
`Inference-Header-Content-Length` header).

BYTES elements in binary are each a 4-byte little-endian length and the bytes; FP32 elements are
little-endian floats. Anything malformed is a 400 whose message says what is wrong.
"""

import re
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from fastapi import HTTPException, Response
from pydantic import ValidationError

from service.api.limits import count_values, value_limit
from service.open_inference.schemas import InferenceRequest, RequestInput, ResponseOutput
from service.settings import Settings

BINARY_SIZE = "binary_data_size"
# Inference-Header-Content-Length: plain ASCII digits, at most 15 of them (petabytes).
HEADER_LENGTH = re.compile(r"[0-9]{1,15}")
# How deep `data` may nest (a [n] tensor needs one level; row-major nesting of a few more is
# read as flat), and how many inputs and outputs a request may name (this server has one input
# and at most two outputs a model): past them a request is refused before it is validated.
MAX_DATA_DEPTH = 8
MAX_TENSORS = 8


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


def parse_request(
    body: bytes, header_length: str | None, settings: Settings
) -> tuple[InferenceRequest, bytes]:
    """The JSON part of a body as a request, and the binary bytes that follow it; the JSON's
    values are counted before it is parsed, its inputs and outputs before it is validated."""
    json_size = len(body)
    if header_length is not None:
        if not HEADER_LENGTH.fullmatch(header_length) or int(header_length) > len(body):
            shown = header_length[:20] + ("..." if len(header_length) > 20 else "")
            raise bad(f"Inference-Header-Content-Length {shown!r} is not a length <= body")
        json_size = int(header_length)
    head = body[:json_size]
    limit = value_limit(settings)
    if count_values(head, limit) > limit:
        raise HTTPException(413, f"the request holds more than {limit} JSON values")
    try:
        data = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise bad(f"the request is not valid JSON: {exc}") from None
    check_tensor_counts(data)
    try:
        request = InferenceRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part)[:40] for part in first["loc"]) or "body"
        raise bad(f"invalid inference request: {where}: {first['msg']}") from None
    return request, body[json_size:]


def check_tensor_counts(data: object) -> None:
    """400 for more inputs or outputs than `MAX_TENSORS`, before they are validated."""
    if not isinstance(data, dict):
        return
    for field in ("inputs", "outputs"):
        tensors = data.get(field)
        if isinstance(tensors, list) and len(tensors) > MAX_TENSORS:
            raise bad(f"at most {MAX_TENSORS} {field}, not {len(tensors)}")


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


def read_strings(tensor: RequestInput, binary: bytes | None, max_items: int) -> list[str]:
    """The UTF-8 strings of a one-dimensional BYTES tensor of at most `max_items` elements
    (413 past it, told by its shape before any element is read)."""
    if tensor.datatype != "BYTES":
        raise bad(f"input {tensor.name!r} must be BYTES, not {tensor.datatype}")
    if len(tensor.shape) != 1 or tensor.shape[0] < 1:
        raise bad(f"input {tensor.name!r} must have shape [n] with n >= 1, not {tensor.shape[:4]}")
    count = tensor.shape[0]
    if count > max_items:
        raise HTTPException(413, f"at most {max_items} texts, not {count}")
    if binary is not None and tensor.data is not None:
        raise bad(f"input {tensor.name!r} has both data and binary_data_size")
    if binary is None and tensor.data is None:
        raise bad(f"input {tensor.name!r} has no data")
    if binary is not None:
        items: list[Any] = split_bytes(tensor.name, binary, count)
    else:
        items = flatten(tensor.name, tensor.data, count)
    if len(items) != count:
        raise bad(f"input {tensor.name!r} holds {len(items)} elements, shape {tensor.shape}")
    try:
        return [item if isinstance(item, str) else item.decode("utf-8") for item in items]
    except (AttributeError, UnicodeDecodeError):
        raise bad(f"input {tensor.name!r}: every element must be a UTF-8 string") from None


def flatten(name: str, data: Any, count: int) -> list[Any]:
    """Nested lists in row-major order; 400 past `MAX_DATA_DEPTH` levels or `count` elements
    (it reads one more, so that the caller can say how many there are not)."""
    items: list[Any] = []
    stack = [(iter(data), 1)]
    while stack:
        level, depth = stack[-1]
        item = next(level, stack)
        if item is stack:
            stack.pop()
        elif isinstance(item, list):
            if depth >= MAX_DATA_DEPTH:
                raise bad(f"input {name!r}: data nested more than {MAX_DATA_DEPTH} deep")
            stack.append((iter(item), depth + 1))
        else:
            items.append(item)
            if len(items) > count:
                raise bad(f"input {name!r} holds more than {count} elements, its shape")
    return items


def split_bytes(name: str, data: bytes, count: int) -> list[bytes]:
    """`count` binary BYTES elements: a 4-byte little-endian length, then that many bytes,
    each; 400 when the data ends early or holds more."""
    items, offset = [], 0
    while offset < len(data):
        if len(items) == count:
            raise bad(f"input {name!r}: binary data holds more than {count} elements, its shape")
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
