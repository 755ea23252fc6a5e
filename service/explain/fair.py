"""Explanation slots handed out fairly: to the caller served longest ago, not first come.

A caller (service.api.auth.caller: an API key's digest prefix, or the client's address) that
sends explanation after explanation would, with a first-come queue, have a request ahead of
everybody else's whenever a slot frees. Here each caller waits in its own line, and a freed slot
goes to the waiting caller that was last given one longest ago (a newcomer first), so while one
caller floods, another's request waits for at most one explanation of each caller ahead of it.
"""

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairSlots:
    """`slots` slots; a freed one goes to the waiting caller served longest ago."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._lines: dict[str, deque[asyncio.Future[None]]] = {}  # caller -> its waiters
        self._holding: Counter[str] = Counter()
        self._grants = 0
        self._served: dict[str, int] = {}  # caller -> the number of its latest grant

    @asynccontextmanager
    async def slot(self, caller: str) -> AsyncIterator[None]:
        """Hold a slot for `caller` while inside the block."""
        await self._acquire(caller)
        try:
            yield
        finally:
            self._release(caller)

    async def _acquire(self, caller: str) -> None:
        if self._free and not self._lines:
            self._grant(caller)
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lines.setdefault(caller, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release(caller)  # given a slot just as it gave up waiting: pass it on
            else:
                self._leave(caller, granted)
            raise

    def _grant(self, caller: str) -> None:
        self._free -= 1
        self._grants += 1
        self._served[caller] = self._grants
        self._holding[caller] += 1

    def _release(self, caller: str) -> None:
        """Free `caller`'s slot and hand free slots to the callers served longest ago."""
        self._free += 1
        self._holding[caller] -= 1
        self._forget(caller)
        while self._free and self._lines:
            turn = min(self._lines, key=lambda waiting: self._served.get(waiting, 0))
            line = self._lines[turn]
            granted = line.popleft()
            if not line:
                del self._lines[turn]
            if not granted.done():
                self._grant(turn)
                granted.set_result(None)

    def _leave(self, caller: str, granted: asyncio.Future[None]) -> None:
        """Take a request that stopped waiting out of its caller's line."""
        line = self._lines.get(caller)
        if line is not None and granted in line:
            line.remove(granted)
            if not line:
                del self._lines[caller]
        self._forget(caller)

    def _forget(self, caller: str) -> None:
        """Drop what is known of a caller that neither holds nor waits for a slot."""
        if not self._holding[caller] and caller not in self._lines:
            del self._holding[caller]
            self._served.pop(caller, None)
