"""The usual way to serve a SavedModel: one model call per request, in FastAPI's thread pool.

A plain sync handler calls `model(texts=tf.constant([text]))` for each request; uvicorn runs one
worker with its default settings. Each model is called once before serving: without that, the
first requests arriving together (16 at once, say) stall the server for tens of seconds while
TensorFlow sets up the restored functions. Run it as `python -m benchmarks.baseline --model-dir
model`.
"""

import argparse
from pathlib import Path
from typing import Any

import tensorflow as tf
from fastapi import FastAPI
from pydantic import BaseModel


class TextRequest(BaseModel):
    text: str


class NextWordRequest(BaseModel):
    text: str
    top_k: int = 5


def latest_version(model_dir: Path, name: str) -> Path:
    """The highest complete version directory of a model."""
    versions = [p for p in (model_dir / name).glob("[0-9]*") if (p / "saved_model.pb").exists()]
    if not versions:
        raise SystemExit(f"no {name} version in {model_dir}")
    return max(versions, key=lambda p: int(p.name))


def create_app(model_dir: Path) -> FastAPI:
    """Load both models, then build an app that calls them once per request."""
    loaded: dict[str, Any] = {
        name: tf.saved_model.load(str(latest_version(model_dir, name)))
        for name in ("sentiment", "next_word")
    }
    sentiment = loaded["sentiment"].signatures["serving_default"]
    next_word = loaded["next_word"].signatures["serving_default"]
    sentiment(texts=tf.constant(["warm up"]))
    next_word(texts=tf.constant(["warm up"]), k=tf.constant(5))
    app = FastAPI(title="one call per request")
    app.state.loaded = loaded  # the loaded objects own the variables the signatures read

    @app.get("/ready")
    def read_ready() -> dict:
        return {"status": "ready"}

    @app.get("/health")
    def read_health() -> dict:
        return {"status": "ok"}

    @app.post("/sentiment")
    def predict_sentiment(body: TextRequest) -> dict:
        p = float(sentiment(texts=tf.constant([body.text]))["positive_probability"].numpy()[0])
        return {"positive_probability": p, "label": "positive" if p >= 0.5 else "negative"}

    @app.post("/next-word")
    def predict_next_word(body: NextWordRequest) -> dict:
        out = next_word(texts=tf.constant([body.text]), k=tf.constant(body.top_k))
        words = [w.decode() for w in out["words"].numpy()[0]]
        probabilities = out["probabilities"].numpy()[0].tolist()
        pairs = zip(words, probabilities, strict=True)
        return {"predictions": [{"word": w, "probability": p} for w, p in pairs]}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.model_dir),
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
