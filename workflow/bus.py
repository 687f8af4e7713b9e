"""Local fan-out: one backend subscription per topic per process, shared by its subscribers."""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from workflow.backends import Backend
from workflow.messages import Envelope

__all__ = ["Bus", "Subscriber"]

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    """Anything that takes encoded envelopes without blocking (a client's queue)."""

    def deliver(self, data: bytes) -> None: ...


class Bus:
    """Publishes envelopes through the backend and hands received ones to local subscribers."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._subscribers: dict[str, set[Subscriber]] = {}
        backend.set_receiver(self._dispatch)

    def topics(self) -> list[str]:
        """Return the topics this process is subscribed to."""
        return list(self._subscribers)

    async def publish(self, envelope: Envelope) -> None:
        """Send ``envelope`` to the subscribers of its topic on every process."""
        await self._backend.publish(envelope.topic, msgspec.json.encode(envelope))

    async def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        """Deliver every later message on ``topic`` to ``subscriber``."""
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            subscribers = self._subscribers[topic] = set()
            try:
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
            await self._backend.unsubscribe(topic)

    def _dispatch(self, topic: str, data: bytes) -> None:
        for subscriber in tuple(self._subscribers.get(topic, ())):
            try:
                subscriber.deliver(data)
            except Exception:
                logger.exception("topic %s: a subscriber failed to take a message", topic)
