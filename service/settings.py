"""Service settings: one object, read once from the environment and passed everywhere."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; environment variables are the upper-case field names."""

    model_config = SettingsConfigDict(extra="ignore", protected_namespaces=())

    # Where and how to serve.
    model_dir: Path = Path("model")  # the model store: <model_dir>/<name>/<version>/
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    cors_origins: Annotated[list[str], NoDecode] = []  # comma-separated; empty: CORS off

    # Input limits (422 beyond them; 413 for a body over max_body_bytes).
    max_text_chars: int = Field(20_000, ge=1)
    max_batch_texts: int = Field(64, ge=1)
    max_top_k: int = Field(50, ge=1)
    max_body_bytes: int = Field(0, ge=0)  # 0: room for a full batch of 4-byte characters

    # Model store polling: a new complete version replaces the served one.
    model_poll_seconds: float = Field(5.0, gt=0)

    # Micro-batching: requests queued while the model is busy share one model call.
    batch_max_texts: int = Field(64, ge=1)  # texts per model call
    batch_max_wait_ms: float = Field(0.0, ge=0)  # extra wait to fill a call; 0: go when idle
    batch_length_ratio: float = Field(2.0, ge=1)  # longest/shortest word count within a call
    batch_length_slack: int = Field(16, ge=0)  # words of padding always tolerated in a call
    queue_max_texts: int = Field(1024, ge=1)  # texts waiting per model; beyond: 503
    request_timeout_seconds: float = Field(30.0, gt=0)  # queue wait plus model time; then 503

    # TensorFlow CPU threads: one model call at a time per model, each op on both cores.
    tf_intra_op_threads: int = Field(2, ge=0)
    tf_inter_op_threads: int = Field(1, ge=0)

    # Seconds that in-flight requests get to finish after SIGTERM.
    graceful_shutdown_seconds: float = Field(20.0, ge=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def lower_level(cls, value: object) -> object:
        """Accept LOG_LEVEL in any case."""
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def split_origins(cls, data: dict) -> dict:
        """Accept CORS_ORIGINS as a comma-separated string."""
        origins = data.get("cors_origins") if isinstance(data, dict) else None
        if isinstance(origins, str):
            data["cors_origins"] = [o.strip() for o in origins.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def size_body_limit(self) -> "Settings":
        """Default the body limit to a full batch of maximal texts, 4 UTF-8 bytes a character;
        the queue must hold at least one full batch."""
        if self.queue_max_texts < self.max_batch_texts:
            raise ValueError("QUEUE_MAX_TEXTS must be at least MAX_BATCH_TEXTS")
        if self.max_body_bytes == 0:
            self.max_body_bytes = self.max_batch_texts * (self.max_text_chars * 4 + 16) + 65_536
        return self
