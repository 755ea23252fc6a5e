"""Latency per keystroke through HTTP: what a keyboard waits for while a person types.

For each sentence (in both forms, lower case without punctuation and as written), every text a
person has in the box before typing a letter (`keystroke_texts`) is sent as POST /next-word
(`top_k` 3, no `complete`) to a real `python -m service` process, over one keep-alive
connection, one request at a time. Each answer falls in `next words` (`completing` null: after a
space, or after a whole word) or `completions` (inside a word); then every text again with
`phrase_words` 3 (`phrases`, as the playground asks). p50/p90/p99 of each, in milliseconds,
timed from sending the request to reading the whole answer. Run by `python -m benchmarks
keystrokes --latency`; the target is p99 <= TARGET_MS for next words and completions.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.servers import HOST, service_server
from training.keystrokes import FORMS, Typing

TARGET_MS = 20.0
WARMUP_REQUESTS = 50
SERIES = ("next words", "completions", "phrases")


def keystroke_texts(sentences: list[str]) -> list[str]:
    """Each form of each sentence, cut before every character that starts or continues a word:
    the texts a keyboard is asked for as the sentence is typed letter by letter."""
    texts = []
    for sentence in sentences:
        for form in FORMS.values():
            typing = Typing(form(sentence))
            texts += [typing.sentence[:i] for i, owner in enumerate(typing.owner) if owner >= 0]
    return texts


def post(connection: http.client.HTTPConnection, body: dict) -> tuple[float, dict]:
    """Milliseconds from sending `body` to having read the answer, and the answer."""
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    connection.request("POST", "/next-word", payload, headers)
    response = connection.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - started) * 1e3
    if response.status != 200:
        raise RuntimeError(f"POST /next-word {body!r}: {response.status} {data[:300]!r}")
    return elapsed, json.loads(data)


def percentiles(times: list[float]) -> dict[str, float]:
    values = np.array(times)
    found = {f"p{q}": float(np.percentile(values, q)) for q in (50, 90, 99)} if len(times) else {}
    return {"requests": len(times), **found, "max": float(values.max()) if len(times) else 0.0}


def measure_latency(model_dir: Path, sentences: list[str]) -> dict:
    """p50/p90/p99 of each series of `SERIES` against a real service on `model_dir`."""
    texts = keystroke_texts(sentences)
    times: dict[str, list[float]] = {name: [] for name in SERIES}
    with tempfile.TemporaryDirectory(prefix="keystrokes-") as work:
        server = service_server(model_dir, {}, Path(work) / "service.log")
        server.start()
        try:
            connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
            for text in texts[:WARMUP_REQUESTS]:
                post(connection, {"text": text, "top_k": 3, "phrase_words": 3})
            for text in texts:
                elapsed, answer = post(connection, {"text": text, "top_k": 3})
                kind = "next words" if answer["completing"] is None else "completions"
                times[kind].append(elapsed)
            for text in texts:
                body = {"text": text, "top_k": 3, "phrase_words": 3}
                times["phrases"].append(post(connection, body)[0])
            connection.close()
        finally:
            server.stop()
    figures = {name: percentiles(found) for name, found in times.items()}
    return {
        "sentences": len(sentences),
        "connections": 1,
        "series": figures,
        "target_p99_ms": TARGET_MS,
        "met": all(figures[s].get("p99", 0.0) <= TARGET_MS for s in SERIES[:2]),
    }


def format_latency(latency: dict) -> str:
    """One row per series: requests, p50, p90, p99, max (ms)."""
    lines = [
        f"latency per keystroke, 1 connection, {latency['sentences']} sentences in both forms",
        "| requests | count | p50 ms | p90 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, f in latency["series"].items():
        if f["requests"]:
            lines.append(
                f"| {name} | {f['requests']} | {f['p50']:.1f} | {f['p90']:.1f} | "
                f"{f['p99']:.1f} | {f['max']:.1f} |"
            )
    met = "met" if latency["met"] else "missed"
    lines.append(f"target p99 <= {latency['target_p99_ms']:g} ms (next words, completions): {met}")
    return "\n".join(lines)
