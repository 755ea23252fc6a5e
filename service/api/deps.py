"""FastAPI dependencies: the app's settings, registry and metrics.

They are `async` so FastAPI calls them on the event loop instead of handing each one to its
thread pool (two thread switches per request for a dictionary lookup).
"""

from typing import Annotated

from fastapi import Depends, Request

from service.monitoring.metrics import Metrics
from service.serving.registry import Registry
from service.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    """The registry of served model versions."""
    return request.app.state.registry


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
