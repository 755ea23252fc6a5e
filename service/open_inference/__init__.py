"""The Open Inference Protocol (KServe V2) REST endpoints, in one package: the wire schemas, the
tensor codec, the models as the protocol sees them, the route class and the router.

Its endpoints live under `PATH_PREFIX` and answer errors as `{"error": ...}`.
"""

PATH_PREFIX = "/v2"


def speaks_protocol(path: str) -> bool:
    """Whether a request path is one of the protocol's (its errors use the key `error`)."""
    return path == PATH_PREFIX or path.startswith(PATH_PREFIX + "/")
