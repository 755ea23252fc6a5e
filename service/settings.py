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
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    cors_origins: Annotated[list[str], NoDecode] = []  # comma-separated; empty: CORS off

    # API keys (service.api.auth, docs/security.md): with any set, every route but /health,
    # /ready, /v2/health/* and the playground page needs `Authorization: Bearer <key>`.
    # API_KEYS is comma-separated; API_KEYS_FILE holds a key a line, or `sha256:<hex>` of one;
    # METRICS_API_KEYS, when set, are the only keys /metrics takes (a scraper's).
    api_keys: Annotated[list[str], NoDecode] = []
    api_keys_file: Path | None = None
    metrics_api_keys: Annotated[list[str], NoDecode] = []

    # Input limits (422 beyond them; 413 for a body over max_body_bytes, where 0 means room for
    # a full batch of maximal texts of 4-byte characters).
    max_text_chars: int = Field(default=20_000, ge=1)
    max_batch_texts: int = Field(default=64, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    max_body_bytes: int = Field(default=0, ge=0)

    # Model store polling: a new complete version replaces the served one.
    model_poll_seconds: float = Field(default=5.0, gt=0)
    train_hint: str = ""  # the training command an empty store's log line suggests

    # Micro-batching: whenever one of model_calls_in_flight threads is free, the requests queued
    # meanwhile share one model call of at most batch_max_texts texts and batch_max_words padded
    # words (texts x longest), the longest at most ratio x the shortest + slack words; a call
    # runs beside another only while every queued text has at most overlap_max_words words. The
    # worker waits batch_max_wait_ms for company (0: it goes as soon as a thread is free); beyond
    # queue_max_texts waiting texts, or request_timeout_seconds in all, a request gets 503.
    # Two calls in flight: the model computes one while the event loop answers the other's
    # requests and reads the next. Long texts run one call at a time: side by side they only
    # split the batch. The measurements behind these defaults: docs/benchmarks.md.
    batch_max_texts: int = Field(default=64, ge=1)
    # 8,192: 64 short texts, or 35 reviews of 230 words; it bounds a call's memory.
    batch_max_words: int = Field(default=8192, ge=1)
    model_calls_in_flight: int = Field(default=2, ge=1)
    overlap_max_words: int = Field(default=64, ge=0)
    batch_max_wait_ms: float = Field(default=0.0, ge=0)
    batch_length_ratio: float = Field(default=2.0, ge=1)
    batch_length_slack: int = Field(default=16, ge=0)
    queue_max_texts: int = Field(default=1024, ge=1)
    request_timeout_seconds: float = Field(default=30.0, gt=0)

    # Explanations ("explain": true): occlusion asks the model once per unit of a text, so they
    # get their own explain_concurrency slots and threads beside the prediction queue; beyond
    # explain_queue_max waiting requests, 503. A text of more than explain_max_units words is
    # explained in that many spans of consecutive words; a request explains at most
    # explain_max_texts texts; masked copies go to the model in calls of at most
    # explain_call_words padded words (a 300-word review: 13 copies a call). One caller (an API
    # key, or a client address when keys are off) has at most explain_caller_max requests
    # running or waiting, so that it cannot take every place; a freed slot goes to the waiting
    # caller served longest ago.
    explain_concurrency: int = Field(default=1, ge=1)
    explain_queue_max: int = Field(default=4, ge=0)
    explain_caller_max: int = Field(default=2, ge=1)
    explain_max_units: int = Field(default=64, ge=1)
    explain_max_texts: int = Field(default=16, ge=1)
    explain_call_words: int = Field(default=4096, ge=1)
    # While plain predictions are queued or running, an explanation pauses after each of its
    # model calls for (1 / share - 1) times as long as the call took, leaving them the rest of
    # the machine (1: no pause); what plain predictions lose at each share: docs/explanations.md.
    explain_busy_share: float = Field(default=0.1, gt=0, le=1)

    # TensorFlow CPU threads: each op on one core, two ops side by side (the sentiment model's
    # two reading directions, or two calls); one intra-op thread serves short texts faster than
    # two and reviews as fast (docs/benchmarks.md).
    tf_intra_op_threads: int = Field(default=1, ge=0)
    tf_inter_op_threads: int = Field(default=2, ge=0)

    # Drift metrics (/metrics, docs/monitoring.md): per model call, histograms of each text's
    # token count and out-of-vocabulary share and of the positive probabilities served, and per
    # served version the population stability index of its last drift_window_texts texts against
    # the reference in its metadata.json, recomputed every drift_update_texts texts once the
    # window is full. DRIFT_METRICS=false turns them all off.
    drift_metrics: bool = True
    drift_window_texts: int = Field(default=1000, ge=10)
    drift_update_texts: int = Field(default=100, ge=1)

    # Connections (service.connections, docs/security.md): a request's line and headers must
    # arrive within header_timeout_seconds of the connection's opening (or of a kept-alive
    # connection's next request's first byte), its body within body_timeout_seconds of the
    # headers (else 408 and close); a connection idle after an answer is closed after
    # keep_alive_seconds (longer than a balancer's idle reuse, so the balancer closes first);
    # beyond max_connections open connections or requests, 503 (the probes are still served);
    # a head of more than max_header_bytes is refused with 431. forwarded_allow_ips: the
    # addresses (comma-separated, or *) whose X-Forwarded-For names the client, a balancer's.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    keep_alive_seconds: float = Field(default=15.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    max_header_bytes: int = Field(default=16_384, ge=1024)
    forwarded_allow_ips: str = "127.0.0.1"

    # After SIGTERM: seconds the service keeps serving while /ready answers 503, so that a load
    # balancer's or Kubernetes' readiness checks take it out of rotation first (HAProxy in
    # deploy/haproxy checks every second, 2 failures to mark it down); SIGINT skips it.
    drain_seconds: float = Field(default=5.0, ge=0)
    # Then: seconds that in-flight requests get to finish once the service stops accepting.
    graceful_shutdown_seconds: float = Field(default=20.0, ge=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def lower_level(cls, value: object) -> object:
        """Accept LOG_LEVEL in any case."""
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def split_lists(cls, data: dict) -> dict:
        """Accept CORS_ORIGINS, API_KEYS and METRICS_API_KEYS as comma-separated strings."""
        for name in ("cors_origins", "api_keys", "metrics_api_keys"):
            value = data.get(name) if isinstance(data, dict) else None
            if isinstance(value, str):
                data[name] = [item.strip() for item in value.split(",") if item.strip()]
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
