"""The FastAPI app: settings, API keys, lifespan (model registry), middleware, error handlers,
routers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service.api.auth import KeyRing
from service.api.body_limit import BodyLimitMiddleware
from service.api.fast_path import PredictionFastPath
from service.api.routes import health, metrics, models, predict
from service.errors import install_error_handlers
from service.explain.occlusion import Explainer
from service.monitoring.metrics import Metrics
from service.monitoring.middleware import RequestContextMiddleware
from service.open_inference import router as v2
from service.open_inference.route import document_request_body
from service.serving.registry import Registry
from service.serving.servable import configure_threads
from service.settings import Settings
from service.ui.playground import install_playground
from service.ui.swagger import install_docs

DESCRIPTION = "Sentiment and next-word prediction with LSTM models trained on IMDB reviews."


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; models load in its lifespan (run it with `with TestClient(app)`)."""
    settings = settings or Settings()
    app_metrics = Metrics()
    registry = Registry(settings, app_metrics)
    explainer = Explainer(settings, app_metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_threads(settings.tf_intra_op_threads, settings.tf_inter_op_threads)
        await registry.start()
        try:
            yield
        finally:
            await registry.close()
            explainer.close()

    app = FastAPI(
        title="IMDB LSTM service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # service.ui.swagger serves it, behind the API keys
        # Metrics are Prometheus's (/metrics); FastAPI's OpenTelemetry hooks would only cost a
        # provider lookup per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keys = KeyRing.from_settings(settings)  # read once: a new key needs a restart
    app.state.metrics = app_metrics
    app.state.registry = registry
    app.state.explainer = explainer
    app.state.draining = False  # set on SIGTERM (service.server): /ready answers 503
    install_error_handlers(app)
    install_docs(app, settings, document_request_body)
    install_playground(app)
    for router in (predict.router, health.router, models.router, metrics.router, v2.router):
        app.include_router(router)
    # innermost: CORS, limits and logs still apply
    app.add_middleware(PredictionFastPath, routes=predict.router.routes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app_metrics)
    return app
