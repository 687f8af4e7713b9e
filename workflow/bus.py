"""Local fan-out: one backend subscription per topic per process, shared by its subscribers.

Two kinds of sending.  ``publish`` is for messages nothing has accepted yet:
when the backend is away it fails, and the sender is told.  ``announce`` is
for news of a change already stored (a transition, a record): it must not be
lost, so when the backend is away it is kept, in order, and sent when the
backend is back.  ``BackendStatus`` never leaves the process: each process
tells its own subscribers when its backend is lost and when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

import msgspec

from workflow.backends import Backend
from workflow.errors import BackendUnavailable
from workflow.messages import ENGINE_PUBLISHER, Envelope, encode_json, timestamp
from workflow.topics import BACKEND_STATUS

__all__ = ["LOCAL_TOPICS", "Bus", "Subscriber"]

#: Topics delivered inside this process only, never through the backend.
LOCAL_TOPICS = frozenset({BACKEND_STATUS})
#: Announcements kept while the backend is away; only changes stored just
#: before an outage can wait here, since nothing is stored during one.
MAX_BACKLOG = 10_000

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    """Anything that takes encoded envelopes without blocking (a client's queue)."""

    def deliver(self, data: bytes) -> None: ...


class Bus:
    """Publishes envelopes through the backend and hands received ones to local subscribers."""

    def __init__(self, backend: Backend, *, max_backlog: int = MAX_BACKLOG) -> None:
        self._backend = backend
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._backlog: deque[Envelope] = deque()
        self._max_backlog = max_backlog
        self._sending = asyncio.Lock()
        self._flushes: set[asyncio.Task[None]] = set()
        backend.set_receiver(self._dispatch)
        backend.set_status_receiver(self._status_changed)

    @property
    def backlog(self) -> int:
        """How many announcements wait for the backend."""
        return len(self._backlog)

    def topics(self) -> list[str]:
        """Return the topics this process is subscribed to."""
        return list(self._subscribers)

    async def publish(self, envelope: Envelope) -> None:
        """Send ``envelope`` to the subscribers of its topic on every process.

        Raises BackendUnavailable, having sent nothing, when the backend is away.
        """
        await self._backend.publish(envelope.topic, msgspec.json.encode(envelope))

    async def announce(self, envelope: Envelope) -> None:
        """Send news of a stored change; while the backend is away, keep it for later."""
        if not self._backlog:
            try:
                await self.publish(envelope)
                return
            except BackendUnavailable as exc:
                logger.warning("topic %s: kept until the backend is back: %s", envelope.topic, exc)
        self._keep(envelope)
        await self.flush()

    async def flush(self) -> None:
        """Send the kept announcements, oldest first, until none is left or the backend fails."""
        async with self._sending:
            while self._backlog:
                try:
                    await self.publish(self._backlog[0])
                except BackendUnavailable:
                    return
                self._backlog.popleft()
                if not self._backlog:
                    logger.info("bus: every kept announcement is sent")

    async def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        """Deliver every later message on ``topic`` to ``subscriber``."""
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            subscribers = self._subscribers[topic] = set()
            try:
                if topic not in LOCAL_TOPICS:
                    await self._backend.subscribe(topic)
            except BaseException:
                del self._subscribers[topic]
                raise
        subscribers.add(subscriber)

    async def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        """Stop delivering ``topic`` to ``subscriber``; drop the topic when nobody is left."""
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[topic]
            if topic not in LOCAL_TOPICS:
                await self._backend.unsubscribe(topic)

    async def close(self) -> None:
        """Stop sending kept announcements in the background."""
        if self._backlog:
            logger.warning(
                "bus: closing with %d announcements the backend never took; they are not sent",
                len(self._backlog),
            )
        for task in self._flushes:
            task.cancel()
        await asyncio.gather(*self._flushes, return_exceptions=True)

    def _keep(self, envelope: Envelope) -> None:
        if len(self._backlog) >= self._max_backlog:
            lost = self._backlog.popleft()
            logger.error("bus: backlog full; dropped the oldest, on %s", lost.topic)
        self._backlog.append(envelope)

    def _status_changed(self, available: bool, detail: str) -> None:
        status = "available" if available else "unavailable"
        payload = {"status": status, "backend": self._backend.name, "detail": detail}
        notice = Envelope(ENGINE_PUBLISHER, BACKEND_STATUS, encode_json(payload), timestamp())
        self._dispatch(BACKEND_STATUS, msgspec.json.encode(notice))
        if available and self._backlog:
            task = asyncio.create_task(self.flush(), name="bus-flush")
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    def _dispatch(self, topic: str, data: bytes) -> None:
        for subscriber in tuple(self._subscribers.get(topic, ())):
            try:
                subscriber.deliver(data)
            except Exception:
                logger.exception("topic %s: a subscriber failed to take a message", topic)
