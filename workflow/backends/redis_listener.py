"""The one pub/sub connection a process keeps to Redis, supervised.

redis-py's own ``PubSub`` reconnects behind its caller's back and can go
silent instead of raising when Redis restarts (redis-py issue 3979), so the
listener owns a plain connection instead.  It subscribes every channel it
holds, publishes a heartbeat to a private channel about once a second, and
tears the connection down and builds a new one, with backoff, whenever the
connection fails or its own heartbeat stops coming back.  Each new
connection subscribes every channel again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["ChannelReceiver", "HeartbeatPublisher", "ListenerSilent", "RedisListener"]

HEARTBEAT_INTERVAL = 1.0
SILENCE_LIMIT = 3.5
CONFIRM_TIMEOUT = 2.0
MIN_BACKOFF = 0.1
MAX_BACKOFF = 2.0
MIN_READ_WAIT = 0.05

logger = logging.getLogger(__name__)

ChannelReceiver = Callable[[bytes, bytes], None]
"""Called with (channel, data) for every message on a subscribed channel."""

HeartbeatPublisher = Callable[[bytes, bytes], Awaitable[object]]
"""Publishes (channel, data) over an ordinary, non-subscribed connection."""


class ListenerSilent(RedisError):
    """The listener stopped hearing its own heartbeat: the subscription is dead."""


class RedisListener:
    """Keeps one pub/sub connection subscribed to a set of channels, whatever Redis does."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        name: str,
        heartbeat_channel: bytes,
        publish: HeartbeatPublisher,
        receive: ChannelReceiver,
    ) -> None:
        self.name = name
        self.connects = 0
        self._pool = pool
        self._heartbeat = heartbeat_channel
        self._publish = publish
        self._receive = receive
        self._channels: set[bytes] = set()
        self._connection: AbstractConnection | None = None
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._heard = 0.0

    @property
    def is_connected(self) -> bool:
        """Tell whether a subscribed connection is up right now."""
        return self._connection is not None and self._connection.is_connected

    async def start(self) -> None:
        """Connect, then keep the connection alive in a background task.

        Raises the redis-py error when the first connection cannot be made.
        """
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name=f"redis listener {self.name}")

    async def close(self) -> None:
        """Stop the background task and disconnect."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await self._disconnect()
        self._channels.clear()

    async def subscribe(self, channel: bytes) -> None:
        """Subscribe ``channel`` and keep it subscribed across reconnects.

        Returns once Redis has confirmed the subscription; raises redis-py's
        ConnectionError or TimeoutError, holding nothing, when it cannot.
        """
        self._channels.add(channel)
        try:
            await self._subscribe_confirmed(channel)
        except BaseException:
            self._channels.discard(channel)
            raise

    async def unsubscribe(self, channel: bytes) -> None:
        """Stop delivering ``channel``; a broken connection forgets it anyway."""
        self._channels.discard(channel)
        connection = self._connection
        if connection is not None and connection.is_connected:
            with suppress(RedisError):
                await connection.send_command("UNSUBSCRIBE", channel, check_health=False)

    async def _subscribe_confirmed(self, channel: bytes) -> None:
        connection = self._connection
        if connection is None or not connection.is_connected:
            raise RedisConnectionError(f"redis listener: not connected to {self.name}; retry later")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        try:
            await connection.send_command("SUBSCRIBE", channel, check_health=False)
            await asyncio.wait_for(waiter, CONFIRM_TIMEOUT)
        except TimeoutError:
            raise RedisTimeoutError(
                f"redis listener: {self.name} did not confirm a subscription "
                f"within {CONFIRM_TIMEOUT} s"
            ) from None
        finally:
            self._forget_waiter(channel, waiter)

    def _forget_waiter(self, channel: bytes, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(channel, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(channel, None)

    async def _connect(self) -> None:
        connection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.connect()
            channels = [self._heartbeat, *self._channels]
            await connection.send_command("SUBSCRIBE", *channels, check_health=False)
        except BaseException:
            await connection.disconnect()
            raise
        self._connection = connection
        self._heard = asyncio.get_running_loop().time()
        self.connects += 1

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        waiters = [waiter for waiters in self._waiters.values() for waiter in waiters]
        self._waiters.clear()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(RedisConnectionError(f"redis listener: lost {self.name}"))
        if connection is not None:
            await connection.disconnect()

    async def _supervise(self) -> None:
        delay = MIN_BACKOFF
        while True:
            try:
                if self._connection is None:
                    await self._connect()
                    logger.info(
                        "redis listener: reconnected to %s, %d topics",
                        self.name, len(self._channels),
                    )
                delay = MIN_BACKOFF
                await self._listen()
            except (RedisError, OSError) as exc:
                self._report(exc, delay)
            except Exception:
                logger.exception("redis listener: unexpected failure on %s", self.name)
            await self._disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _report(self, exc: BaseException, delay: float) -> None:
        if self._connection is not None:
            logger.warning("redis listener: lost %s (%s); reconnecting", self.name, exc)
        else:
            logger.debug("redis listener: %s still unreachable (%s); next try in %.1f s",
                         self.name, exc, delay)

    async def _listen(self) -> None:
        assert self._connection is not None
        connection = self._connection
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        while True:
            now = loop.time()
            if now >= next_beat:
                await self._beat(now)
                next_beat = now + HEARTBEAT_INTERVAL
            wait = max(next_beat - loop.time(), MIN_READ_WAIT)
            # RESP3, redis-py's default, sends pub/sub as push frames, which
            # read_response hands back only when asked to.
            response = await connection.read_response(timeout=wait, push_request=True)
            if response is not None:
                self._handle(response)

    async def _beat(self, now: float) -> None:
        silent_for = now - self._heard
        if silent_for > SILENCE_LIMIT:
            raise ListenerSilent(f"no heartbeat heard for {silent_for:.1f} s")
        await self._publish(self._heartbeat, b"")

    def _handle(self, response: object) -> None:
        if not isinstance(response, list) or len(response) != 3:
            return
        kind, channel, data = response
        if kind == b"message" and channel == self._heartbeat:
            self._heard = asyncio.get_running_loop().time()
        elif kind == b"message" and channel in self._channels:
            self._deliver(channel, data)
        elif kind == b"subscribe":
            for waiter in self._waiters.pop(channel, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _deliver(self, channel: bytes, data: bytes) -> None:
        try:
            self._receive(channel, data)
        except Exception:
            logger.exception("redis listener: delivery on %r failed", channel)
