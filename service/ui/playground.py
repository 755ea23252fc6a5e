"""The playground page: GET / answers one offline page (service/ui/static: HTML, CSS and
JavaScript, nothing fetched from elsewhere) that calls the prediction endpoints as the user
types."""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = files("service.ui") / "static"
ASSETS_URL = "/playground"


def install_playground(app: FastAPI) -> None:
    """Serve the page at / and its script and style sheet under /playground."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(STATIC)), name="playground")

    @app.get("/", include_in_schema=False)
    async def read_playground() -> FileResponse:
        """The playground page."""
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")
