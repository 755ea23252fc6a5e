"""The served version of each model, found in the model store and swapped in when a newer one lands.

A new complete version is loaded, checked and warmed up in a thread beside the served one, then
swapped in with one assignment on the event loop: requests that already hold the old version's
batcher finish on it, and the old version is released once its queue is empty. A version that
fails to load is logged and skipped (until its files change) while the old one keeps serving.
"""

import asyncio
import contextlib
import gc
import logging
from typing import Any

from service.errors import ServiceUnavailableError
from service.monitoring.metrics import Metrics
from service.serving.batching import Batcher
from service.serving.servable import BrokenModelError, load_servable
from service.serving.store import MODEL_NAMES, VersionDir, complete_versions, files_stamp
from service.settings import Settings

log = logging.getLogger(__name__)


class Registry:
    """Model name -> the batcher of its served version."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._served: dict[str, Batcher] = {}
        self._failed: set[tuple[str, int, int]] = set()
        self._draining: set[asyncio.Task[None]] = set()
        self._refresh_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        metrics.queue_limit.set(settings.queue_max_texts)
        for name in MODEL_NAMES:  # at 0 from the start, so that a first failure is an increase
            for outcome in ("loaded", "failed"):
                metrics.model_loads.labels(name, outcome)

    def get(self, name: str) -> Batcher:
        """The batcher of the served version of `name`; 503 while there is none."""
        try:
            return self._served[name]
        except KeyError:
            raise ServiceUnavailableError(f"the {name} model is not loaded yet", 5) from None

    def missing(self) -> list[str]:
        """Names of the models not loaded yet."""
        return [name for name in MODEL_NAMES if name not in self._served]

    def served(self) -> list[Batcher]:
        """The batchers of the served versions, in model-name order."""
        return [self._served[name] for name in MODEL_NAMES if name in self._served]

    async def start(self) -> None:
        """Load what the store holds, then keep polling it."""
        await self.refresh()
        if missing := self.missing():
            hint = self._settings.train_hint or (
                f"`python -m training --data PATH --model-dir {self._settings.model_dir} "
                "--preset quick` (or `make run`)"
            )
            log.warning(
                "no %s model in MODEL_DIR=%s yet: train one with %s; "
                "/ready answers 503 until it appears (checked every %g s)",
                " or ".join(missing),
                self._settings.model_dir,
                hint,
                self._settings.model_poll_seconds,
            )
        self._poller = asyncio.create_task(self._poll())

    async def close(self) -> None:
        """Stop polling, finish queued work (for at most the grace period), release everything."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        served, self._served = list(self._served.values()), {}
        closing = asyncio.gather(*(batcher.close() for batcher in served), *self._draining)
        try:
            await asyncio.wait_for(closing, self._settings.graceful_shutdown_seconds)
        except TimeoutError:
            log.error("queued work unfinished after %g s", self._settings.graceful_shutdown_seconds)

    async def refresh(self) -> None:
        """Serve the newest loadable version of each model, if newer than the served one."""
        async with self._refresh_lock:
            for name in MODEL_NAMES:
                found = await asyncio.to_thread(complete_versions, self._settings.model_dir, name)
                served = self._served.get(name)
                floor = -1 if served is None else int(served.servable.version)
                for candidate in (v for v in found if v.version > floor):
                    if await self._try_load(candidate):
                        break
            self._metrics.ready.set(0 if self.missing() else 1)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._settings.model_poll_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("model store check failed")

    async def _try_load(self, found: VersionDir) -> bool:
        key = (found.name, found.version, await asyncio.to_thread(files_stamp, found.path))
        if key in self._failed:
            return False
        try:
            servable = await asyncio.to_thread(load_servable, found, self._settings.max_top_k)
        except BrokenModelError as exc:
            self._failed.add(key)
            self._metrics.model_loads.labels(found.name, "failed").inc()
            log.error("skipping %s version %d (%s): %s", found.name, found.version, found.path, exc)
            return False
        batcher = Batcher(servable, self._settings, self._metrics)
        batcher.start()
        old, self._served[found.name] = self._served.get(found.name), batcher
        self._metrics.model_loads.labels(found.name, "loaded").inc()
        self._metrics.model_version.labels(found.name).set(found.version)
        log.info("serving %s version %d from %s", found.name, found.version, found.path)
        if old is not None:
            self._retire(old)
        gc.freeze()  # see _collect_and_freeze
        return True

    def _retire(self, old: Batcher) -> None:
        """Let the old version finish its queue in the background, then free it."""

        async def drain() -> None:
            await old.close()
            log.info("released %s version %s", old.servable.name, old.servable.version)
            _collect_and_freeze()

        task = asyncio.create_task(drain())
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)

    def describe(self) -> list[dict[str, Any]]:
        """Name, version, load time and metadata of each served version."""
        return [
            {
                "name": b.servable.name,
                "version": b.servable.version,
                "loaded_at": b.servable.loaded_at,
                "metadata": b.servable.metadata,
            }
            for b in self.served()
        ]


def _collect_and_freeze() -> None:
    """Free what a released version left, then hide the survivors from the garbage collector.

    A loaded model brings hundreds of thousands of long-lived objects (TensorFlow's graphs); left
    in view, every full collection walks them all (300-800 ms holding the GIL) and frees nothing,
    stalling requests every second or two under load. Frozen, they cost nothing; the price is this
    one collection when a version is released.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
