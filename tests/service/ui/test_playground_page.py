"""GET /: the playground page and its assets, all served by the service itself."""

import re
from importlib.resources import files

from fastapi.testclient import TestClient


def test_read_playground(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert set(assets) == {"playground/style.css", "playground/app.js", "docs"}
    for url in assets:
        assert client.get("/" + url).status_code == 200


def test_playground_fetches_nothing_from_elsewhere() -> None:
    for name in ("index.html", "app.js", "style.css"):
        source = (files("service.ui") / "static" / name).read_text()
        assert not re.search(r"https?:|//[a-z]", source), name
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source, name
