"""The HTTP API: request and response schemas, the answer functions, the routers, the prediction
fast path and the JSON-body rules."""
