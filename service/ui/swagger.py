"""API documentation: Swagger UI at /docs from local assets (no CDN), and the configured input
limits written into /openapi.json."""

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.settings import Settings

ASSETS = str(files("fastapi_offline") / "static")  # swagger-ui-bundle.js, swagger-ui.css
ASSETS_URL = "/docs/assets"


def install_docs(
    app: FastAPI, settings: Settings, *documenters: Callable[[dict[str, Any]], None]
) -> None:
    """Serve the assets and the Swagger UI page; document the limits of `settings`, then let
    each of `documenters` add to the document (what a router's models cannot say)."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_openapi()
            document_limits(document, settings)
            for document_more in documenters:
                document_more(document)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def read_docs(request: Request) -> HTMLResponse:
        """The interactive API documentation."""
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        )


def document_limits(openapi: dict[str, Any], settings: Settings) -> None:
    """Text length, batch size and `top_k` bounds of the request bodies, as configured."""
    models = openapi["components"]["schemas"]
    sentiment, next_word = models["SentimentRequest"], models["NextWordRequest"]
    for text in (sentiment["properties"]["text"], next_word["properties"]["text"]):
        constrain(text, "string", maxLength=settings.max_text_chars)
    texts = constrain(sentiment["properties"]["texts"], "array", maxItems=settings.max_batch_texts)
    constrain(texts["items"], "string", maxLength=settings.max_text_chars)
    constrain(next_word["properties"]["top_k"], "integer", maximum=settings.max_top_k)


def constrain(schema: dict[str, Any], kind: str, **bounds: int) -> dict[str, Any]:
    """Add bounds to the branch of `schema` (maybe one of an `anyOf`) of JSON type `kind`."""
    [branch] = [b for b in schema.get("anyOf", [schema]) if b.get("type") == kind]
    branch.update(bounds)
    return branch
