"""One client of ``/ws``: its frames, its subscriptions, and its bounded send queue.

Each client gets a bounded send queue that the bus fills without waiting and
one writer task drains, so a slow client never holds up a publisher or the
other clients.  When its queue is full the client is dropped with close code
1013 (try again later) and may reconnect; its memory is freed at once.
Deliveries are the envelopes as the bus encoded them, sent as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from datetime import datetime
from typing import Any, TypeGuard

import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from workflow.engine import Engine
from workflow.errors import BackendUnavailable, CompletionRefused
from workflow.messages import (
    ENGINE_PUBLISHER,
    Envelope,
    encode_json,
    is_engine_name,
    timestamp,
)
from workflow.topics import PROTOCOL_ERROR, is_valid_topic

__all__ = ["CLOSE_TOO_SLOW", "Session", "is_rfc3339"]

CLOSE_TOO_SLOW = 1013
CLOSE_TIMEOUT = 2.0
#: A client dropped for reading slowly may still drain what its socket holds
#: and then learn why; it costs no more than the buffers already held.
SLOW_CLOSE_TIMEOUT = 10.0
MAX_TOPICS = 256
MAX_NAME = 128

logger = logging.getLogger(__name__)

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_encode = msgspec.json.encode


class _Publish(msgspec.Struct):
    """The JSON of a ``publish-json:`` frame; unknown keys are ignored."""

    topic: str
    payload: Any = ""
    publisher_name: str | None = None
    #: Anything: one that is not RFC 3339 text is replaced by the time of receipt.
    timestamp: Any = None


_decode_publish = msgspec.json.Decoder(_Publish).decode
#: Each command's method, by name: a table per class, not per connection.
_COMMANDS = {
    "register-name": "_register",
    "subscribe": "_subscribe",
    "unsubscribe": "_unsubscribe",
    "publish-json": "_publish",
}


def is_rfc3339(text: object) -> TypeGuard[str]:
    """Tell whether ``text`` is an RFC 3339 date-time that names a real instant."""
    if not isinstance(text, str) or _RFC3339.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


class Session:
    """One connected client: its name, its subscriptions, its send queue and writer."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        engine: Engine,
        *,
        name: str,
        can_publish: bool,
        max_frame_size: int,
        queue_size: int,
    ) -> None:
        self.name = name
        self.topics: set[str] = set()
        self._socket = socket
        self._engine = engine
        self._can_publish = can_publish
        self._max_frame_size = max_frame_size
        # A deque and one future rather than an asyncio.Queue, which holds three
        # deques and an Event: 2.5 KiB more for every idle connection.
        self._outbox: deque[bytes] = deque()
        self._queue_size = queue_size
        self._wakeup: asyncio.Future[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._close_with: tuple[int, str] | None = None

    @property
    def overflowed(self) -> bool:
        """Tell whether the client was dropped for reading too slowly."""
        return self._close_with is not None and self._close_with[0] == CLOSE_TOO_SLOW

    def deliver(self, data: bytes) -> None:
        """Queue one encoded envelope; a full queue drops the client (never blocks)."""
        if self._close_with is not None:
            return
        if len(self._outbox) >= self._queue_size:
            self.stop(CLOSE_TOO_SLOW, "send queue full: reading too slowly")
            self._outbox.clear()  # what was queued is dropped, its memory freed
            return
        self._outbox.append(data)
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def run(self) -> None:
        """Serve the client until it leaves, falls too far behind or is stopped; clean up."""
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer {self.name}")
        self._reader = asyncio.create_task(self._read(), name=f"ws-reader {self.name}")
        tasks = (self._reader, self._writer)
        try:
            if self._close_with is None:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                self._log_failure(outcome)
            await self._unsubscribe_all()
        if self._close_with is not None:
            await self._close(*self._close_with)

    def stop(self, code: int, reason: str) -> None:
        """End the session soon: stop reading and writing, then close with ``code``."""
        if self._close_with is None:
            self._close_with = (code, reason)
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()  # the writer may be stuck sending to a slow client

    def refuse(self, reason: str) -> None:
        """Tell this client alone, on ``ProtocolError``, what was wrong."""
        self.deliver(_encode(Envelope(ENGINE_PUBLISHER, PROTOCOL_ERROR, reason, timestamp())))

    async def handle(self, frame: str) -> None:
        """Act on one text frame, or refuse it."""
        if len(frame) * 4 > self._max_frame_size and len(frame.encode()) > self._max_frame_size:
            self.refuse(f"frame of {len(frame.encode())} bytes is over the limit of "
                        f"{self._max_frame_size} bytes; nothing was done")
            return
        command, colon, argument = frame.partition(":")
        action = getattr(self, _COMMANDS[command]) if colon and command in _COMMANDS else None
        if action is None:
            self.refuse(f"cannot understand frame {frame[:60]!r}: expected register-name:, "
                        "subscribe:, unsubscribe: or publish-json:")
            return
        try:
            await action(argument)
        except BackendUnavailable as exc:
            logger.warning("client %s: %s failed: %s", self.name, command, exc)
            self.refuse(f"{command}: the backend is unavailable, retry later: {exc}")

    def _log_failure(self, outcome: object) -> None:
        # A client that went away shows up as a disconnect or an OSError; anything else is ours.
        gone = isinstance(outcome, WebSocketDisconnect | OSError)
        if isinstance(outcome, Exception) and not gone:
            logger.error("client %s: connection failed", self.name, exc_info=outcome)

    async def _read(self) -> None:
        while True:
            event = await self._socket.receive()
            if event["type"] == "websocket.disconnect":
                return
            text: str | None = event.get("text")  # type: ignore[assignment]
            if text is None:
                self.refuse("binary frames are not understood; send text frames")
            else:
                await self.handle(text)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._outbox:
                await self._socket.send_text(self._outbox.popleft())
            self._wakeup = loop.create_future()
            await self._wakeup

    async def _register(self, name: str) -> None:
        name = name.strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            self.refuse(f"register-name: expected 1 to {MAX_NAME} printable characters")
            return
        if is_engine_name(name):
            self.refuse(f"register-name: {name!r} is the engine's own name")
            return
        logger.info("client %s: registered as %s", self.name, name)
        self.name = name

    async def _subscribe(self, topic: str) -> None:
        if not self._check_topic("subscribe", topic) or topic in self.topics:
            return
        if len(self.topics) >= MAX_TOPICS:
            self.refuse(f"subscribe: {topic}: a client may hold at most {MAX_TOPICS} topics")
            return
        await self._engine.bus.subscribe(topic, self)
        self.topics.add(topic)
        logger.debug("client %s: subscribed to %s", self.name, topic)

    async def _unsubscribe(self, topic: str) -> None:
        if self._check_topic("unsubscribe", topic) and topic in self.topics:
            self.topics.discard(topic)
            await self._engine.bus.unsubscribe(topic, self)

    async def _publish(self, text: str) -> None:
        envelope = self._envelope(text)
        if envelope is None:
            return
        try:
            if self._engine.machine.is_completion_topic(envelope.topic):
                # Shielded: a completion already stored must still be announced if we are
                # cancelled. Only completions: a Task per publish would end the batching
                # of fan-out and double its cost per delivery.
                await asyncio.shield(self._engine.publish(envelope))
            else:
                await self._engine.publish(envelope)
        except CompletionRefused as exc:
            logger.info("client %s: %s refused: %s", self.name, envelope.topic, exc)
            self.refuse(f"{envelope.topic}: {exc}")

    def _envelope(self, text: str) -> Envelope | None:
        try:
            frame = _decode_publish(text)
        except (msgspec.DecodeError, RecursionError) as exc:
            self.refuse(f"publish-json: expected a JSON object with topic and payload: {exc}")
            return None
        if not self._check_topic("publish-json", frame.topic):
            return None
        if frame.topic in self._engine.announced_topics:
            self.refuse(f"publish-json: {frame.topic} is published by the engine only")
            return None
        if frame.publisher_name is not None and is_engine_name(frame.publisher_name):
            self.refuse(f"publish-json: {frame.publisher_name!r} is the engine's own name")
            return None
        if not self._can_publish:
            self.refuse("publish-json: this server needs its access token to publish")
            return None
        payload = frame.payload if isinstance(frame.payload, str) else encode_json(frame.payload)
        stamp = frame.timestamp if is_rfc3339(frame.timestamp) else timestamp()
        return Envelope(frame.publisher_name or self.name, frame.topic, payload, stamp)

    def _check_topic(self, command: str, topic: Any) -> bool:
        if isinstance(topic, str) and is_valid_topic(topic):
            return True
        self.refuse(f"{command}: invalid topic {str(topic)[:60]!r}: expected 1 to 128 "
                    "letters, digits or _ . : / -")
        return False

    async def _unsubscribe_all(self) -> None:
        for topic in list(self.topics):
            try:
                await self._engine.bus.unsubscribe(topic, self)
            except BackendUnavailable as exc:
                logger.warning("client %s: cannot unsubscribe %s: %s", self.name, topic, exc)
        self.topics.clear()

    async def _close(self, code: int, reason: str) -> None:
        logger.log(
            logging.WARNING if code == CLOSE_TOO_SLOW else logging.INFO,
            "client %s: closing (%d): %s", self.name, code, reason,
        )
        # A slow client's transport may not take even the close frame: wait only so long.
        with contextlib.suppress(Exception):
            timeout = SLOW_CLOSE_TIMEOUT if code == CLOSE_TOO_SLOW else CLOSE_TIMEOUT
            await asyncio.wait_for(self._socket.close(code, reason), timeout)
