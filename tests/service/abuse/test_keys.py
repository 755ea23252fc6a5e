"""API keys from the settings and a key file: digests only, compared in constant time."""

import hashlib
from pathlib import Path

import pytest
from fastapi import HTTPException

from service.api.auth import KeyRing, authorize, bearer_token, caller, matches
from service.settings import Settings


def test_keys_from_settings_and_file(tmp_path: Path) -> None:
    hashed = hashlib.sha256(b"from-hash").hexdigest()
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# comment\n\nfrom-file\nsha256:{hashed}\n")
    settings = Settings(api_keys="one, two", api_keys_file=keys_file, metrics_api_keys="")
    ring = KeyRing.from_settings(settings)
    for key in ("one", "two", "from-file", "from-hash"):
        assert matches(key, ring.api)
    assert matches("three", ring.api) is None
    assert matches(f"sha256:{hashed}", ring.api) is None  # a hash is not a key
    assert ring.metrics_keys() == ring.api


def test_scraper_keys_alone_open_metrics() -> None:
    ring = KeyRing.from_settings(Settings(api_keys="api", metrics_api_keys="scrape"))
    assert matches("scrape", ring.metrics_keys()) and not matches("api", ring.metrics_keys())


def test_malformed_hash_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("sha256:abc\n")
    with pytest.raises(ValueError, match="64 hex digits"):
        KeyRing.from_settings(Settings(api_keys_file=tmp_path / "keys"))


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer k1", "k1"), ("bearer  k1 ", "k1"), ("Basic k1", None), ("Bearer", None), ("", None)],
)
def test_bearer_token(header: str, token: str | None) -> None:
    assert bearer_token(header) == token


def test_authorize_sets_the_caller() -> None:
    ring = KeyRing.from_settings(Settings(api_keys="k1"))
    with pytest.raises(HTTPException) as refused:
        authorize({"client": ("10.0.0.1", 1)}, ring.api, "wrong")
    assert refused.value.status_code == 401
    assert refused.value.headers == {"WWW-Authenticate": "Bearer"}
    authorize({"client": ("10.0.0.1", 1)}, ring.api, "k1")
    assert caller.get() == "key:" + hashlib.sha256(b"k1").hexdigest()[:12]
    authorize({"client": ("10.0.0.1", 1)}, (), None)
    assert caller.get() == "client:10.0.0.1"


def test_key_file_without_a_key_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("# no key yet\n\n")
    with pytest.raises(ValueError, match="holds no key"):
        KeyRing.from_settings(Settings(api_keys_file=tmp_path / "keys"))
    with pytest.raises(FileNotFoundError):
        KeyRing.from_settings(Settings(api_keys_file=tmp_path / "missing"))


def test_empty_key_file_setting_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS_FILE", "")
    assert Settings().api_keys_file is None
    assert KeyRing.from_settings(Settings()).api == ()


def test_scraper_keys_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "scraper").write_text("scrape-from-file\n")
    settings = Settings(api_keys="api", metrics_api_keys_file=tmp_path / "scraper")
    ring = KeyRing.from_settings(settings)
    assert matches("scrape-from-file", ring.metrics_keys())
    assert not matches("api", ring.metrics_keys())
