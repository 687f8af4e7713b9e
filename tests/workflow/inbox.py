"""What the tests listen with: a bus subscriber and backend receiver they can await."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import msgspec

from workflow.errors import BackendUnavailable
from workflow.messages import Envelope

__all__ = ["Inbox"]


class Inbox:
    """Collects every message handed to it, as a bus subscriber or a backend receiver."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[str | None, bytes]] = asyncio.Queue()

    def deliver(self, data: bytes) -> None:
        """Take a message from a bus (the Subscriber protocol)."""
        self._queue.put_nowait((None, data))

    def __call__(self, topic: str, data: bytes) -> None:
        """Take a message from a backend (the MessageReceiver signature)."""
        self._queue.put_nowait((topic, data))

    async def get(self, timeout: float = 5.0) -> tuple[str | None, bytes]:
        """Return the next message, waiting at most ``timeout`` seconds."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def envelope(self, timeout: float = 5.0) -> Envelope:
        """Return the next message decoded as an envelope."""
        _, data = await self.get(timeout)
        return msgspec.json.decode(data, type=Envelope)

    async def drain(self, wait: float = 0.3) -> list[tuple[str | None, bytes]]:
        """Wait ``wait`` seconds, then return (and forget) everything that arrived."""
        await asyncio.sleep(wait)
        messages = []
        while not self._queue.empty():
            messages.append(self._queue.get_nowait())
        return messages

    async def until_received(
        self, publish: Callable[[], Awaitable[object]], *, within: float
    ) -> tuple[str | None, bytes]:
        """Publish every 0.2 s until something arrives; fail after ``within`` seconds.

        Pub/sub keeps nothing for a subscriber that is away, so after an outage
        only a message published once the subscription is back can arrive.
        """
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(BackendUnavailable):  # Redis may still be away
                await publish()
            try:
                return await self.get(timeout=0.2)
            except TimeoutError:
                continue
        raise AssertionError(f"nothing arrived within {within} s")
