"""What a JSON body may cost before any work is done on it: its values counted, its lists and
strings measured against the configured limits, all before it is validated.

A body within the size limit can still hold a million small values (`[1,1,1,...]`), and
validating each of them, then describing each one's error, costs a thousand times more than
reading the bytes. So, in order, each step bounded by the one before:

1. `count_values` bounds the number of JSON values a body holds with a count of its commas and
   brackets outside strings (a C-speed byte count, and a regular expression that drops the
   strings when the raw count is high); past `value_limit` the body is refused unparsed.
2. `parse_json` parses it once (orjson).
3. `precheck` measures the parsed request's lists and strings against the limits and stops at
   the first `MAX_ERRORS` problems, before pydantic looks at a single item.
4. `validate` runs the request model on what is left: at most a full batch of texts.

Error answers name at most `MAX_ERRORS` problems (service.errors.describe_errors).
"""

import json
import re
from typing import Any, TypeVar

import orjson
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from service.errors import MAX_ERRORS
from service.settings import Settings

Request = TypeVar("Request", bound=BaseModel)
# A JSON string, escapes included: what `count_values` leaves out of its count.
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# The bytes that open a value in a list or an object or part two values.
STRUCTURAL = (b",", b"[", b"{")


def value_limit(settings: Settings) -> int:
    """How many JSON values a request may hold: a full batch's texts sixteen times over (room
    for nested V2 `data` and parameters), plus room for the other fields."""
    return 16 * settings.max_batch_texts + 1024


def count_values(body: bytes, limit: int) -> int:
    """An upper bound of the number of values in `body`, exact enough to compare with `limit`:
    its commas and opening brackets, counted again outside strings only when the raw count
    passes the limit (texts full of commas), and only when the strings are few."""
    count = sum(body.count(mark) for mark in STRUCTURAL)
    if count <= limit:
        return count
    # Each string has an opening quote no backslash precedes and at most one more (its closing
    # one): so there are at least quotes / 2 strings, each a value.
    quotes = body.count(b'"') - body.count(b'\\"')
    if quotes > 2 * limit:
        return quotes // 2
    outside = JSON_STRING.sub(b"", body)
    return sum(outside.count(mark) for mark in STRUCTURAL)


def check_value_count(body: bytes, settings: Settings) -> None:
    """422 for a body that holds more JSON values than any valid request needs."""
    limit = value_limit(settings)
    if count_values(body, limit) > limit:
        raise RequestValidationError(
            [
                error(
                    "too_long",
                    [],
                    f"at most {limit} JSON values (a batch holds at most "
                    f"{settings.max_batch_texts} texts)",
                )
            ]
        )


def parse_json(body: bytes) -> Any:
    """The parsed body: 400 if it is not UTF-8, 422 as FastAPI words it if it is not JSON (the
    standard library's reading, bounded by `check_value_count` as orjson's is)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"Body is not valid UTF-8 (byte {exc.start})") from None
    try:  # what the routes parse with: it takes lone surrogates and NaN, which orjson refuses
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message, position = exc.msg, exc.pos
    except RecursionError:  # nested deeper than Python recurses: FastAPI's answer
        raise HTTPException(400, "There was an error parsing the body") from None
    raise RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ("body", position),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": message},
            }
        ]
    )


def precheck(data: Any, settings: Settings) -> None:
    """422 for texts past the batch limit or strings past the length limit, before validation;
    at most `MAX_ERRORS` problems are collected (the rest is validation's, a bounded cost
    once the texts are)."""
    if not isinstance(data, dict):
        return  # validation says what it should be, in one error
    errors: list[dict[str, Any]] = []
    located: list[tuple[list[str | int], Any]] = [(["text"], data.get("text"))]
    texts = data.get("texts")
    if isinstance(texts, list):
        limit = settings.max_batch_texts
        if len(texts) > limit:
            errors.append(error("too_long", ["texts"], f"at most {limit} texts, not {len(texts)}"))
        located += [(["texts", i], text) for i, text in enumerate(texts[:limit])]
    for loc, text in located:
        if len(errors) >= MAX_ERRORS:
            break
        if isinstance(text, str) and len(text) > settings.max_text_chars:
            msg = f"at most {settings.max_text_chars} characters, not {len(text)}"
            errors.append(error("string_too_long", loc, msg))
    if errors:
        raise RequestValidationError(errors)


def validate(model: type[Request], data: Any) -> Request:
    """The request model of `data`, or the 422 of FastAPI's body validation."""
    try:
        return model.model_validate(data, from_attributes=True)  # as FastAPI validates bodies
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def parse_request(model: type[Request], body: bytes, settings: Settings) -> Request:
    """A request body parsed and validated once, each step bounded by the one before."""
    check_value_count(body, settings)
    data = parse_json(body)
    precheck(data, settings)
    try:
        return validate(model, data)
    except RequestValidationError as exc:
        if not any(is_big_int(e) for e in exc.errors()):
            raise
    # orjson reads an integer past 64 bits as a float; the standard library keeps it an int,
    # so that its error is the limit's (`top_k` at most 50), as the routes say.
    return validate(model, json.loads(body))


def is_big_int(error: dict[str, Any]) -> bool:
    """Whether a validation error is about a float that was an integer in the JSON."""
    value = error.get("input")
    return error["type"] == "int_type" and isinstance(value, float) and value.is_integer()


def error(kind: str, loc: list[str | int], should_be: str) -> dict[str, Any]:
    """A body field error in FastAPI's form."""
    return {"type": kind, "loc": ["body", *loc], "msg": f"Should be {should_be}"}
