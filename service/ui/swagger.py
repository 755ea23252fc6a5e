"""API documentation: Swagger UI at /docs from local assets (no CDN), /openapi.json with the
configured input limits written in, and a key form on /docs when the service has API keys.

The page itself needs no key (it is static); the document and every request tried from it do.
When /openapi.json answers 401 the page asks for a key, keeps it for the browser tab
(sessionStorage, shared with the playground) and sends it as `Authorization: Bearer`: with the
document, and through Swagger UI's "Authorize" (the HTTPBearer scheme) with each request.
"""

import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from service.api.auth import UNAUTHORIZED, ApiKey
from service.settings import Settings

ASSETS = str(files("fastapi_offline") / "static")  # swagger-ui-bundle.js, swagger-ui.css
ASSETS_URL = "/docs/assets"
OPENAPI_URL = "/openapi.json"
# What the page runs: fetch the document (with the tab's key, if any), ask for a key on 401,
# then start Swagger UI authorised with it.
SCRIPT = """
const KEY = "api-key";
const form = document.getElementById("key-form");
async function start() {
  const key = sessionStorage.getItem(KEY) || "";
  const headers = key ? { Authorization: "Bearer " + key } : {};
  const answer = await fetch(OPENAPI, { headers });
  if (answer.status === 401) {
    form.hidden = false;
    document.getElementById("key-note").textContent = key ? "That key was refused." : "";
    return;
  }
  form.hidden = true;
  window.ui = SwaggerUIBundle({
    spec: await answer.json(),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    onComplete: () => { if (key) window.ui.preauthorizeApiKey("HTTPBearer", key); },
  });
}
form.addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("key").value.trim());
  start();
});
start();
"""


def docs_page(root: str, title: str) -> str:
    """The Swagger UI page, its assets and document under `root`."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{root}{ASSETS_URL}/swagger-ui.css">
<link rel="shortcut icon" href="{root}{ASSETS_URL}/favicon.png">
<title>{title}</title>
</head>
<body>
<form id="key-form" hidden style="font-family: sans-serif; margin: 2em">
  <label for="key">This service needs an API key:</label>
  <input id="key" type="password" autocomplete="off" size="40">
  <button type="submit">Use key</button> <span id="key-note"></span>
</form>
<div id="swagger-ui"></div>
<script src="{root}{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script>const OPENAPI = {json.dumps(root + OPENAPI_URL)};{SCRIPT}</script>
</body>
</html>
"""


def install_docs(
    app: FastAPI, settings: Settings, *documenters: Callable[[dict[str, Any]], None]
) -> None:
    """Serve the assets, the Swagger UI page and the document (behind the API keys); document
    the limits of `settings`, then let each of `documenters` add to the document (what a
    router's models cannot say)."""
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

    @app.get(OPENAPI_URL, include_in_schema=False, dependencies=[ApiKey], responses=UNAUTHORIZED)
    async def read_openapi() -> JSONResponse:
        """The OpenAPI document."""
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def read_docs(request: Request) -> HTMLResponse:
        """The interactive API documentation."""
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(docs_page(root, f"{app.title} - Swagger UI"))


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
