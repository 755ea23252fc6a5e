"""Requests generated from the OpenAPI document: none makes the service answer 5xx."""

from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.main import create_app
from service.settings import Settings

# The document alone (no model needed); requests go to the `fuzzed_app` fixture's app.
schema = schemathesis.openapi.from_dict(create_app(Settings(model_dir=Path("unused"))).openapi())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_app(build_app: Callable[..., FastAPI], model_dir: Path) -> FastAPI:
    return build_app(model_dir)


@schema.parametrize()
@seed(20_240_601)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_api(case: schemathesis.Case, fuzzed_app: FastAPI) -> None:
    case.call_and_validate(app=fuzzed_app, checks=CHECKS)
