"""Explanation slots shared between callers: a caller that floods has at most
EXPLAIN_CALLER_MAX requests in, and a freed slot goes to the caller served longest ago."""

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from service.explain.fair import FairSlots
from service.serving.servable import Servable


async def take(slots: FairSlots, caller: str, order: list[str], hold: asyncio.Event) -> None:
    async with slots.slot(caller):
        order.append(caller)
        await hold.wait()


def test_freed_slot_goes_to_the_caller_served_longest_ago() -> None:
    async def run() -> list[str]:
        slots, order, hold = FairSlots(1), [], asyncio.Event()
        tasks = [asyncio.create_task(take(slots, "flood", order, hold))]
        await asyncio.sleep(0)
        tasks += [asyncio.create_task(take(slots, "flood", order, hold)) for _ in range(3)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(take(slots, "other", order, hold)))
        await asyncio.sleep(0)
        hold.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(run()) == ["flood", "other", "flood", "flood", "flood"]


def test_cancelled_waiter_gives_its_turn_on() -> None:
    async def run() -> list[str]:
        slots, order, hold = FairSlots(1), [], asyncio.Event()
        first = asyncio.create_task(take(slots, "a", order, hold))
        await asyncio.sleep(0)
        leaving = asyncio.create_task(take(slots, "b", order, hold))
        staying = asyncio.create_task(take(slots, "c", order, hold))
        await asyncio.sleep(0)
        leaving.cancel()
        hold.set()
        await asyncio.gather(first, staying)
        # A slot granted to a request as it is cancelled is passed on, not lost.
        late = asyncio.create_task(take(slots, "d", order, asyncio.Event()))
        await asyncio.sleep(0)
        granted_then_cancelled = asyncio.create_task(take(slots, "e", order, hold))
        await asyncio.sleep(0)
        late.cancel()  # frees the slot; "e" is granted it
        granted_then_cancelled.cancel()  # before it runs
        await asyncio.gather(late, granted_then_cancelled, return_exceptions=True)
        await asyncio.wait_for(take(slots, "f", order, hold), 1)
        return order

    assert asyncio.run(run()) == ["a", "c", "d", "f"]


def hold_explanations(servable: Servable, release: threading.Event, texts: list[str]) -> None:
    """Make explanation model calls wait for `release`; record each call's text."""
    original = servable.predict

    def predict(batch: list[str], k: int = 1) -> list:
        if threading.current_thread().name.startswith("explain"):
            texts.append(batch[0])  # the text itself, then its masked copies
            release.wait(30)
        return original(batch, k)

    servable.predict = predict  # type: ignore[method-assign]


def test_explain_second_caller_gets_a_slot_while_the_first_floods(
    serve: Callable, eventually: Callable
) -> None:
    release, texts, out = threading.Event(), [], {}
    with serve(api_keys="flood,other", explain_concurrency=1, explain_queue_max=4) as client:
        hold_explanations(client.app.state.registry.get("sentiment").servable, release, texts)

        def explain(key: str, text: str) -> Any:
            headers = {"authorization": f"Bearer {key}"}
            body = {"text": text, "explain": True}
            return client.post("/sentiment", json=body, headers=headers)

        def send(key: str, text: str) -> threading.Thread:
            thread = threading.Thread(target=lambda: out.setdefault(text, explain(key, text)))
            thread.start()
            return thread

        threads = [send("flood", "flood one")]
        eventually(lambda: texts == ["flood one"], timeout=10)
        threads.append(send("flood", "flood two"))
        time.sleep(0.3)  # waiting for the slot
        refused = explain("flood", "flood three")
        threads.append(send("other", "other one"))
        time.sleep(0.3)
        release.set()
        for thread in threads:
            thread.join(30)
        metrics = client.get("/metrics", headers={"authorization": "Bearer other"}).text
    assert refused.status_code == 503
    assert refused.json() == {
        "detail": "at most 2 explanations of one caller at a time; retry later"
    }
    assert {text: response.status_code for text, response in out.items()} == {
        "flood one": 200,
        "flood two": 200,
        "other one": 200,
    }
    assert texts == ["flood one", "other one", "flood two"]
    assert 'batch_rejected_total{model="sentiment",reason="explain_caller_full"} 1.0' in metrics
