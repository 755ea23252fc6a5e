"""API keys: who may call the service (off until a key is configured).

`API_KEYS` (comma-separated) and `API_KEYS_FILE` (one key a line, or `sha256:<hex>` of a key;
blank lines and `#` comments skipped) open every route but the probes and the playground page;
`METRICS_API_KEYS` opens /metrics for a scraper (without it, the API keys do). Clients send
`Authorization: Bearer <key>`; a missing or wrong key is a 401 with `WWW-Authenticate: Bearer`.
Keys are kept only as SHA-256 digests and a key given is compared, digest against digest, with
every one of them in constant time (`hmac.compare_digest`), so the answer's timing says nothing
about how much of a key was right.

The routes depend on `require_api_key` or `require_metrics_key` (through FastAPI's `HTTPBearer`,
so /docs shows the lock and its "Authorize" button sends the key); the prediction fast path
calls `authorize` with the same keys. Each request's caller (the key's digest prefix, or the
client's address when keys are off) goes into `caller`, which the explainer shares its slots
by.
"""

import hashlib
import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from service.api.schemas import ErrorResponse
from service.settings import Settings

HASHED = "sha256:"
CHALLENGE = {"WWW-Authenticate": "Bearer"}
REFUSED = "Missing or invalid API key"
# The answer a keyed route documents in OpenAPI.
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": f"{REFUSED} (only when the service has keys)"}
}
# Who the current request is for (set for every request that passes `authorize`).
caller: ContextVar[str] = ContextVar("caller", default="anonymous")

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from API_KEYS or API_KEYS_FILE (only when the service sets one).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def digest(key: str) -> bytes:
    """The SHA-256 digest of a key."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class KeyRing:
    """The digests of the keys that open the service, and those that open /metrics."""

    api: tuple[bytes, ...] = ()
    metrics: tuple[bytes, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> "KeyRing":
        """The keys of API_KEYS, API_KEYS_FILE and METRICS_API_KEYS."""
        api = [digest(key) for key in settings.api_keys]
        if settings.api_keys_file is not None:
            api += read_key_file(settings.api_keys_file)
        return cls(tuple(api), tuple(digest(key) for key in settings.metrics_api_keys))

    def metrics_keys(self) -> tuple[bytes, ...]:
        """The keys /metrics takes: the scraper's, or else the API keys."""
        return self.metrics or self.api


def read_key_file(path: Path) -> list[bytes]:
    """The digests in a key file: a key a line, or `sha256:` and the hex digest of one."""
    digests = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(HASHED):
            digests.append(digest(line))
            continue
        try:
            value = bytes.fromhex(line.removeprefix(HASHED))
        except ValueError:
            value = b""
        if len(value) != hashlib.sha256().digest_size:
            raise ValueError(f"{path}:{number}: sha256: takes 64 hex digits")
        digests.append(value)
    return digests


def matches(given: str, digests: tuple[bytes, ...]) -> str | None:
    """The caller a key is (its digest's first 12 hex digits) if it is one of `digests`;
    every digest is compared, in constant time."""
    candidate = digest(given)
    found = False
    for known in digests:
        found |= hmac.compare_digest(candidate, known)
    return candidate.hex()[:12] if found else None


def bearer_token(authorization: str) -> str | None:
    """The key of an `Authorization: Bearer <key>` header value."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authorize(scope: Scope, digests: tuple[bytes, ...], token: str | None) -> None:
    """Set `caller`: 401 unless keys are off or `token` is one of them."""
    if not digests:
        client = scope.get("client")
        caller.set(f"client:{client[0]}" if client else "anonymous")
        return
    who = matches(token, digests) if token else None
    if who is None:
        raise HTTPException(401, REFUSED, headers=CHALLENGE)
    caller.set(f"key:{who}")


def header_token(scope: Scope) -> str | None:
    """The bearer key of a request's headers, for the middleware that skips FastAPI."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token(value.decode("latin-1"))
    return None


async def require_api_key(request: Request, credentials: Credentials) -> None:
    """401 unless the request carries one of the API keys (when there are any)."""
    keys: KeyRing = request.app.state.keys
    authorize(request.scope, keys.api, credentials.credentials if credentials else None)


async def require_metrics_key(request: Request, credentials: Credentials) -> None:
    """401 unless the request carries a scraper key, or an API key without scraper keys."""
    keys: KeyRing = request.app.state.keys
    token = credentials.credentials if credentials else None
    authorize(request.scope, keys.metrics_keys(), token)


ApiKey = Depends(require_api_key)
MetricsKey = Depends(require_metrics_key)
