"""Micro-batching: requests that queue while a model is busy share its next call.

Each served model version has one `Batcher`: a bounded queue, a worker task and
`model_calls_in_flight` threads. Whenever a thread is free, the worker takes the request at the
head of the queue plus every request that queued meanwhile (up to `batch_max_texts` texts), sorts
their texts by length into model calls of similar length (the graph pads a call to its longest
text) and runs them in that thread, off the event loop. Short texts run in two calls side by
side, so that the model computes one while the event loop answers the other's requests and reads
the next; long texts wait for the model to be free, since one call of them already keeps both
cores busy. Next-word requests with different `top_k` share a call run with the largest;
completions (each text with the prefix its words must start with) get calls of their own.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from service.errors import ModelCallError, ServiceUnavailableError
from service.monitoring.drift import DriftMonitor
from service.monitoring.metrics import Metrics
from service.serving.servable import Prediction, Servable
from service.serving.tokens import count_tokens
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Job:
    """One request's texts, waiting for their predictions."""

    texts: list[str]
    k: int
    future: asyncio.Future[list[Prediction]]
    prefixes: list[str] | None = None  # completions: the prefix of each text's words
    token_cap: int = 8192  # tokens the model reads of a text at most
    enqueued: float = field(default_factory=time.perf_counter)
    results: list[Prediction | Exception | None] = field(init=False)
    remaining: int = field(init=False)
    # Each text's tokens as the graph splits them (up to the cap): what a call pads to.
    words: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.texts)
        self.remaining = len(self.texts)
        self.words = [count_tokens(text, self.token_cap) for text in self.texts]

    def deliver(self, index: int, prediction: Prediction | Exception) -> None:
        """Store one text's prediction; resolve the future once every text has one."""
        self.results[index] = prediction[: self.k] if isinstance(prediction, list) else prediction
        self.remaining -= 1
        if self.remaining or self.future.done():
            return
        errors = [r for r in self.results if isinstance(r, Exception)]
        if errors:
            self.future.set_exception(errors[0])
        else:
            self.future.set_result(self.results)  # type: ignore[arg-type]


def plan_calls(
    lengths: list[int], max_texts: int, max_words: int, ratio: float, slack: int
) -> list[list[int]]:
    """Group text indices into model calls: sorted by length, a call's longest text at most
    `ratio` times its shortest plus `slack` words, at most `max_texts` texts and `max_words`
    padded words (texts x longest) a call, but at least one text."""
    calls: list[list[int]] = []
    limit = 0.0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        size = len(calls[-1]) + 1 if calls else 1
        if (
            size > 1
            and size <= max_texts
            and lengths[i] <= limit
            and size * lengths[i] <= max_words
        ):
            calls[-1].append(i)
        else:
            calls.append([i])
            limit = lengths[i] * ratio + slack
    return calls


def padding_share(lengths: list[int]) -> float:
    """Share of a call's word slots (texts x longest text) that are padding."""
    return 1.0 - sum(lengths) / (len(lengths) * max(lengths))


class Batcher:
    """The queue and worker of one servable."""

    def __init__(self, servable: Servable, settings: Settings, metrics: Metrics) -> None:
        self.servable = servable
        self._settings = settings
        self._metrics = metrics
        self._queue: deque[Job] = deque()
        self._queued_texts = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._holders = 0  # requests that hold this version (see `held`)
        self._unheld = asyncio.Event()
        self._unheld.set()
        calls = settings.model_calls_in_flight
        self._executor = ThreadPoolExecutor(
            max_workers=calls, thread_name_prefix=f"{servable.name}-{servable.version}"
        )
        self._free_calls = asyncio.Semaphore(calls)
        self._calls: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        # This model's series, looked up once: `.labels()` costs a lock and a hash per call.
        name = servable.name
        self._queue_depth = metrics.queue_depth.labels(name)
        self._queue_wait = metrics.queue_wait.labels(name)
        self._batch_requests = metrics.batch_requests.labels(name)
        self._batch_size = metrics.batch_size.labels(name)
        self._padding = metrics.padding.labels(name)
        self._model_call = metrics.model_call.labels(name)
        self.drift = DriftMonitor(servable, settings, metrics) if settings.drift_metrics else None

    def start(self) -> None:
        """Start the worker task on the running loop."""
        self._worker = asyncio.get_running_loop().create_task(self._run())

    @contextlib.contextmanager
    def held(self) -> Iterator["Batcher"]:
        """Hold this version for the length of one request: a next-word request makes several
        model calls (a completion, then the next words; a phrase's beam steps), and a version
        swapped out meanwhile must still answer them all."""
        self._holders += 1
        self._unheld.clear()
        try:
            yield self
        finally:
            self._holders -= 1
            if not self._holders:
                self._unheld.set()

    async def close(self) -> None:
        """Wait for the requests that hold this version (at most the request timeout), serve
        what is queued, then stop the worker and its thread."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._unheld.wait(), self._settings.request_timeout_seconds)
        self._closing = True
        self._wakeup.set()
        if self._worker is not None:
            await self._worker
        if self.drift is not None:
            self.drift.close()

    async def predict(
        self, texts: list[str], k: int = 1, prefixes: list[str] | None = None
    ) -> list[Prediction]:
        """Predictions for `texts` in order (with `prefixes`: only the next words that start
        with each text's prefix); 503 when the queue is full or time runs out."""
        future = self._submit(texts, k, prefixes)
        try:
            return await asyncio.wait_for(future, self._settings.request_timeout_seconds)
        except TimeoutError:
            self._reject("timeout")
            raise ServiceUnavailableError(
                f"{self.servable.name} model did not answer within "
                f"{self._settings.request_timeout_seconds:g} s; retry later"
            ) from None

    def _submit(
        self, texts: list[str], k: int, prefixes: list[str] | None
    ) -> asyncio.Future[list[Prediction]]:
        if self._closing or self._worker is None or self._worker.done():
            self._reject("stopped")
            raise ServiceUnavailableError(f"{self.servable.name} model is being replaced; retry")
        if self._queued_texts + len(texts) > self._settings.queue_max_texts:
            self._reject("queue_full")
            raise ServiceUnavailableError(f"{self.servable.name} queue is full; retry later")
        future = asyncio.get_running_loop().create_future()
        job = Job(texts, k, future, prefixes, self.servable.token_cap)
        self._queue.append(job)
        self._count_queued(len(texts))
        self._wakeup.set()
        return job.future

    def busy(self) -> bool:
        """Whether texts are queued or a model call is running."""
        return bool(self._queued_texts or self._calls)

    def _reject(self, reason: str) -> None:
        self._metrics.rejected.labels(self.servable.name, reason).inc()

    def _count_queued(self, change: int) -> None:
        self._queued_texts += change
        self._queue_depth.set(self._queued_texts)

    async def _run(self) -> None:
        try:
            while self._queue or not self._closing:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self._free_calls.acquire()
                if self._calls and self._long_text_queued():
                    # Long texts keep both cores busy in one call; beside another call they
                    # would only split the batch, so they wait for the model instead.
                    await asyncio.wait(self._calls)
                await self._gather()
                if jobs := self._take():
                    call = asyncio.create_task(self._serve_safely(jobs))
                    self._calls.add(call)
                    call.add_done_callback(self._call_done)
                else:
                    self._free_calls.release()
            if self._calls:
                await asyncio.wait(self._calls)
        finally:
            self._executor.shutdown(wait=False)

    def _call_done(self, call: asyncio.Task[None]) -> None:
        """Free the call's thread for the next one."""
        self._calls.discard(call)
        self._free_calls.release()

    def _long_text_queued(self) -> bool:
        """Whether a queued text is too long to run beside another call."""
        limit = self._settings.overlap_max_words
        return any(max(job.words) > limit for job in self._queue)

    async def _gather(self) -> None:
        """Let requests join the call: one turn of the loop, or up to `batch_max_wait_ms`."""
        await asyncio.sleep(0)
        deadline = self._queue[0].enqueued + self._settings.batch_max_wait_ms / 1000
        while self._queued_texts < self._settings.batch_max_texts and not self._closing:
            delay = deadline - time.perf_counter()
            if delay <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), delay)
            except TimeoutError:
                return

    def _take(self) -> list[Job]:
        """Pop queued jobs up to `batch_max_texts` texts (at least one job)."""
        jobs: list[Job] = []
        count = 0
        limit = self._settings.batch_max_texts
        while self._queue and (not jobs or count + len(self._queue[0].texts) <= limit):
            job = self._queue.popleft()
            self._count_queued(-len(job.texts))
            if not job.future.done():  # a job that timed out is dropped unserved
                jobs.append(job)
                count += len(job.texts)
        return jobs

    async def _serve_safely(self, jobs: list[Job]) -> None:
        """Serve jobs; whatever goes wrong fails them, never the worker."""
        try:
            await self._serve(jobs)
        except Exception:
            log.exception("%s batch failed", self.servable.name)
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(ModelCallError(f"{self.servable.name} batch failed"))

    async def _serve(self, jobs: list[Job]) -> None:
        started = time.perf_counter()
        for job in jobs:
            self._queue_wait.observe(started - job.enqueued)
        self._batch_requests.observe(len(jobs))
        if plain := [job for job in jobs if job.prefixes is None]:
            await self._serve_group(plain, max(job.k for job in plain), False)
        if completions := [job for job in jobs if job.prefixes is not None]:
            await self._serve_group(completions, max(job.k for job in completions), True)

    async def _serve_group(self, jobs: list[Job], k: int, completing: bool) -> None:
        settings = self._settings
        slots = [(job, i) for job in jobs for i in range(len(job.texts))]
        cap = self.servable.token_cap
        lengths = [min(job.words[i], cap) for job, i in slots]
        ratio, slack = settings.batch_length_ratio, settings.batch_length_slack
        most_texts, most_words = settings.batch_max_texts, settings.batch_max_words
        for call in plan_calls(lengths, most_texts, most_words, ratio, slack):
            self._batch_size.observe(len(call))
            self._padding.observe(padding_share([lengths[s] for s in call]))
            texts = [slots[s][0].texts[slots[s][1]] for s in call]
            prefixes = None
            if completing:
                prefixes = [slots[s][0].prefixes[slots[s][1]] for s in call]  # type: ignore[index]
            predictions = await self._call(texts, k, prefixes)
            for s, prediction in zip(call, predictions, strict=True):
                job, index = slots[s]
                job.deliver(index, prediction)

    async def _call(
        self, texts: list[str], k: int, prefixes: list[str] | None = None
    ) -> list[Prediction | Exception]:
        """One model call in the worker thread; if it fails, each text alone, to isolate it."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        servable = self.servable
        try:
            if prefixes is None:
                answer = await loop.run_in_executor(self._executor, servable.predict, texts, k)
            else:
                run = servable.complete
                answer = await loop.run_in_executor(self._executor, run, texts, prefixes, k)
        except Exception:
            if len(texts) > 1:
                log.warning("model call of %d texts failed; retrying one by one", len(texts))
                alone = [
                    (t, None if prefixes is None else [prefixes[i]]) for i, t in enumerate(texts)
                ]
                return [p for t, pre in alone for p in await self._call([t], k, pre)]
            log.exception("%s model call failed", self.servable.name)
            return [ModelCallError(f"{self.servable.name} model call failed")]
        finally:
            self._model_call.observe(time.perf_counter() - started)
        if self.drift is not None:
            try:
                self.drift.record(answer)
            except Exception:  # a metric must never cost an answer
                log.exception("%s drift metrics failed", self.servable.name)
        return [*answer.predictions]
