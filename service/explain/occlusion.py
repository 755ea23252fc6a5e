"""Explanations of sentiment answers: occlusion on the served model, with its own bounded queue.

A text's weight for each of its units (service.explain.units) is how far the served probability
falls when that unit is left out: p(text) - p(text without the unit), so a weight above 0 pushed the
answer towards positive. The served model is the whole blend (both LSTMs and the n-gram member
sit behind one signature), so that is what is explained. The text and all its masked copies go
to the model together, in calls of at most `explain_call_words` padded words.

Explanations never wait in the prediction queue: they have `explain_concurrency` slots and a
queue of `explain_queue_max` requests (beyond it, 503), shared fairly: one caller has at most
`explain_caller_max` requests running or waiting (beyond them, 503 for that caller alone) and a
freed slot goes to the waiting caller served longest ago (service.explain.fair). Their model
calls run in a thread pool of their own, one call at a time per slot, so plain predictions keep
their threads and can run between the calls of an explanation. While plain predictions wait or
run, an explanation also pauses after each call, so that it takes at most `explain_busy_share` of
the time.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from service.errors import ModelCallError, ServiceUnavailableError
from service.explain.fair import FairSlots
from service.explain.units import Unit, group_units, split_units, without
from service.monitoring.metrics import Metrics
from service.serving.servable import Servable
from service.serving.tokens import count_tokens
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Explained:
    """One text's probability and the weight of each of its units."""

    probability: float
    units: list[Unit]
    weights: list[float]
    unit_words: int  # units of the text per explained unit: 1, or the span size


def occlusion_copies(text: str, max_units: int) -> tuple[list[Unit], int, list[str]]:
    """The units to weigh (spans of `size` words past `max_units`), then the texts to ask the
    model about: the text itself, then the text without each unit."""
    units, size = group_units(split_units(text), max_units)
    return units, size, [text, *(without(text, unit) for unit in units)]


def weigh(units: list[Unit], size: int, probabilities: list[float]) -> Explained:
    """Weights from the model's answers to `occlusion_copies`: p(text) - p(text without unit)."""
    p = probabilities[0]
    return Explained(p, units, [p - q for q in probabilities[1:]], size)


class Explainer:
    """Occlusion explanations, a bounded number at a time."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._slots = FairSlots(settings.explain_concurrency)
        self._admitted = 0  # requests running or waiting for a slot
        self._admitted_by: Counter[str] = Counter()  # the same, per caller
        self._executor: ThreadPoolExecutor | None = None  # made on first use, in the lifespan

    def close(self) -> None:
        """Let the threads go once their current call ends."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def explain(
        self,
        servable: Servable,
        texts: list[str],
        busy: Callable[[], bool] = lambda: False,
        caller: str = "anonymous",
    ) -> list[Explained]:
        """Each text's probability and unit weights; 503 when too many wait (in all, or of this
        caller's) or time runs out. `busy` says whether plain predictions are waiting or
        running."""
        settings = self._settings
        if self._admitted >= settings.explain_concurrency + settings.explain_queue_max:
            self._reject("explain_queue_full")
            raise ServiceUnavailableError("too many explanations in progress; retry later")
        if self._admitted_by[caller] >= settings.explain_caller_max:
            self._reject("explain_caller_full")
            raise ServiceUnavailableError(
                f"at most {settings.explain_caller_max} explanations of one caller at a time; "
                "retry later"
            )
        self._admitted += 1
        self._admitted_by[caller] += 1
        try:
            async with asyncio.timeout(settings.request_timeout_seconds):
                async with self._slots.slot(caller):
                    started = time.perf_counter()
                    explained = [await self._explain_one(servable, text, busy) for text in texts]
                    self._metrics.explanation.observe(time.perf_counter() - started)
                    return explained
        except TimeoutError:
            self._reject("explain_timeout")
            timeout = settings.request_timeout_seconds
            raise ServiceUnavailableError(
                f"explanation not done within {timeout:g} s; retry later or send a shorter text"
            ) from None
        finally:
            self._admitted -= 1
            self._admitted_by[caller] -= 1
            if not self._admitted_by[caller]:
                del self._admitted_by[caller]

    async def _explain_one(
        self, servable: Servable, text: str, busy: Callable[[], bool]
    ) -> Explained:
        units, size, copies = occlusion_copies(text, self._settings.explain_max_units)
        tokens = count_tokens(text, servable.token_cap)  # each copy is at most as long
        probabilities = await self._predict(servable, copies, tokens, busy)
        return weigh(units, size, probabilities)

    async def _predict(
        self, servable: Servable, texts: list[str], words: int, busy: Callable[[], bool]
    ) -> list[float]:
        """The model's probabilities for `texts` (each at most `words` tokens), in calls of at most
        `explain_call_words` padded words, one after the other in this explainer's threads."""
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._settings.explain_concurrency, "explain")
        padded = max(1, min(words, servable.token_cap))
        per_call = max(1, self._settings.explain_call_words // padded)
        pause = 1 / self._settings.explain_busy_share - 1
        found: list[float] = []
        for start in range(0, len(texts), per_call):
            chunk = texts[start : start + per_call]
            started = time.perf_counter()
            try:
                out = await loop.run_in_executor(self._executor, servable.predict, chunk)
            except Exception:
                log.exception("explanation model call failed")
                raise ModelCallError("sentiment model failed while explaining") from None
            found.extend(float(p) for p in out.predictions)  # type: ignore[arg-type]
            if pause and busy():
                await asyncio.sleep(pause * (time.perf_counter() - started))
        return found

    def _reject(self, reason: str) -> None:
        self._metrics.rejected.labels("sentiment", reason).inc()
