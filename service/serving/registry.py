"""The served version of each model, found in the model store and swapped in when it changes.

What to serve comes from `selection.py`: the promoted version when the store's policy names the
model (up or down), else the newest complete one. The version to move to is loaded, checked and
warmed up in a thread beside the served one, then swapped in with one assignment on the event
loop: requests that already hold the old version's batcher finish on it, and the old version is
released once its queue is empty. A version that fails to load, a version directory that cannot
be read and a promoted version that cannot be served are logged (once each) and counted in the
metrics while the loaded version keeps serving.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import Iterator
from typing import Any

from service.errors import ServiceUnavailableError
from service.monitoring.metrics import Metrics
from service.serving.batching import Batcher
from service.serving.selection import Selection, select_versions
from service.serving.servable import BrokenModelError, load_servable
from service.serving.store import MODEL_NAMES, VersionDir, files_stamp
from service.settings import Settings

log = logging.getLogger(__name__)


class Registry:
    """Model name -> the batcher of its served version."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._served: dict[str, Batcher] = {}
        self._selections: dict[str, Selection] = {}
        self._failed: set[tuple[str, int, int]] = set()
        self._reported: dict[str, set[str]] = {}  # per model, the store problems logged
        self._draining: set[asyncio.Task[None]] = set()
        self._refresh_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        metrics.queue_limit.set(settings.queue_max_texts)
        for name in MODEL_NAMES:  # at 0 from the start, so that a first failure is an increase
            for outcome in ("loaded", "failed"):
                metrics.model_loads.labels(name, outcome)
            metrics.store_skipped.labels(name).set(0)
            metrics.policy_unmet.labels(name).set(0)

    def get(self, name: str) -> Batcher:
        """The batcher of the served version of `name`; 503 while there is none."""
        try:
            return self._served[name]
        except KeyError:
            raise ServiceUnavailableError(f"the {name} model is not loaded yet", 5) from None

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[Batcher]:
        """The batcher of the served version of `name`, held for one request (a swap to a new
        version lets the request finish on this one); 503 while there is none."""
        with self.get(name).held() as batcher:
            yield batcher

    def missing(self) -> list[str]:
        """Names of the models not loaded yet."""
        return [name for name in MODEL_NAMES if name not in self._served]

    def served(self) -> list[Batcher]:
        """The batchers of the served versions, in model-name order."""
        return [self._served[name] for name in MODEL_NAMES if name in self._served]

    async def start(self) -> None:
        """Load what the store holds, then keep polling it."""
        try:
            await self.refresh()
        except Exception:  # whatever the store holds, the service starts and keeps checking
            log.exception("model store check failed")
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
        """Move each model to its selected version: the promoted one when the policy names it,
        else the newest loadable one if newer than the served one."""
        async with self._refresh_lock:
            selections = await asyncio.to_thread(select_versions, self._settings.model_dir)
            for name in MODEL_NAMES:
                selection = self._selections[name] = selections[name]
                self._report(selection)
                served = self._served.get(name)
                current = None if served is None else int(served.servable.version)
                if selection.pinned:
                    moves = [v for v in selection.candidates if v.version != current]
                else:
                    floor = -1 if current is None else current
                    moves = [v for v in selection.candidates if v.version > floor]
                for candidate in moves:
                    if await self._try_load(candidate):
                        break
                self._record_policy(selection)
            self._metrics.ready.set(0 if self.missing() else 1)

    def _report(self, selection: Selection) -> None:
        """Log each store problem once (again only after it went away), and count them."""
        problems = {
            f"skipping {s.name} version {s.version} ({s.path}): {s.reason}"
            for s in selection.skipped
        }
        if selection.problem is not None:
            loaded = self._served.get(selection.name)
            keeping = f"version {loaded.servable.version}" if loaded else "nothing"
            problems.add(f"{selection.problem}; keeping {keeping} loaded")
        for problem in sorted(problems - self._reported.get(selection.name, set())):
            log.warning("%s", problem)
        self._reported[selection.name] = problems
        self._metrics.store_skipped.labels(selection.name).set(len(selection.skipped))

    def _record_policy(self, selection: Selection) -> None:
        served = self._served.get(selection.name)
        off = selection.pinned and (
            served is None or int(served.servable.version) != selection.promoted
        )
        self._metrics.policy_unmet.labels(selection.name).set(1 if off else 0)

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
        """Name, version, promoted version, load time and metadata of each served version."""
        return [
            {
                "name": b.servable.name,
                "version": b.servable.version,
                "promoted_version": self._promoted(b.servable.name),
                "loaded_at": b.servable.loaded_at,
                "metadata": b.servable.metadata,
            }
            for b in self.served()
        ]

    def has_policy(self) -> bool:
        """The store had a promotion policy file at the last check."""
        return any(s.policy for s in self._selections.values())

    def promotion(self) -> list[dict[str, Any]]:
        """Per model: the promoted version, the loaded one, and why they differ if they do."""
        rows = []
        for name in MODEL_NAMES:
            selection, served = self._selections.get(name), self._served.get(name)
            loaded = served.servable.version if served else None
            promoted = self._promoted(name)
            problem = selection.problem if selection else None
            if problem is None and promoted is not None and promoted != loaded:
                problem = f"{name} version {promoted} is promoted but did not load"
            rows.append(
                {
                    "name": name,
                    "promoted_version": promoted,
                    "loaded_version": loaded,
                    "problem": problem,
                }
            )
        return rows

    def _promoted(self, name: str) -> str | None:
        selection = self._selections.get(name)
        return None if selection is None or selection.promoted is None else str(selection.promoted)


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
