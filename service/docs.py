"""Swagger UI at /docs, served from the package's own copy of its assets (no CDN)."""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = str(files("fastapi_offline") / "static")  # swagger-ui-bundle.js, swagger-ui.css
ASSETS_URL = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Serve the assets and the Swagger UI page."""
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
