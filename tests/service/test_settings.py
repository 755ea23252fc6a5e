"""Settings from the environment."""

from pathlib import Path

import pytest

from service.settings import Settings


def test_read_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODEL_DIR", "HOST", "PORT", "MODEL_POLL_SECONDS", "CORS_ORIGINS", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.host, settings.port, settings.model_dir) == ("0.0.0.0", 8000, Path("model"))
    assert settings.cors_origins == []
    assert settings.max_body_bytes > 64 * 20_000 * 4


def test_read_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_DIR", "/srv/models")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("MODEL_POLL_SECONDS", "0.5")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    settings = Settings()
    assert settings.model_dir == Path("/srv/models")
    assert settings.port == 9000
    assert settings.model_poll_seconds == 0.5
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert settings.log_level == "warning"
    assert settings.max_body_bytes == 1000


def test_read_settings_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_read_settings_queue_smaller_than_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_MAX_TEXTS", "10")
    with pytest.raises(ValueError, match="QUEUE_MAX_TEXTS"):
        Settings()
