"""The one pub/sub connection a process keeps to Redis, supervised.

redis-py's own ``PubSub`` reconnects behind its caller's back and can go
silent instead of raising when Redis restarts (redis-py issue 3979), so the
listener owns a plain connection instead.  While it is up, one task reads
messages and another publishes a heartbeat to a private channel about once a
second; when the connection fails, or the heartbeat stops coming back, the
listener tears the connection down and builds a new one, with backoff, and
subscribes every channel it holds again.  Its owner hears of each loss and
each return, once.
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

__all__ = [
    "ChannelReceiver",
    "HeartbeatPublisher",
    "ListenerSilent",
    "RedisListener",
    "StatusListener",
]

HEARTBEAT_INTERVAL = 1.0
SILENCE_LIMIT = 3.5
COMMAND_TIMEOUT = 2.0
MIN_BACKOFF = 0.1
MAX_BACKOFF = 2.0

logger = logging.getLogger(__name__)

ChannelReceiver = Callable[[bytes, bytes], None]
"""Called with (channel, data) for every message on a subscribed channel."""

HeartbeatPublisher = Callable[[bytes, bytes], Awaitable[object]]
"""Publishes (channel, data) over an ordinary, non-subscribed connection."""

StatusListener = Callable[[bool, str], None]
"""Called with (connected, detail) when the connection is lost, and when it is back."""


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
        on_status: StatusListener | None = None,
    ) -> None:
        self.name = name
        self.connects = 0
        self._pool = pool
        self._heartbeat = heartbeat_channel
        self._publish = publish
        self._receive = receive
        self._on_status = on_status
        self._lost = False
        self._channels: set[bytes] = set()
        self._connection: AbstractConnection | None = None
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._heard = 0.0

    @property
    def is_connected(self) -> bool:
        """Tell whether a subscribed connection is up right now."""
        return self._connection is not None and self._connection.is_connected

    def holds(self, channel: bytes) -> bool:
        """Tell whether ``channel`` is one this listener keeps subscribed."""
        return channel in self._channels

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

        Returns once Redis has confirmed the subscription.  While the
        connection is down, or when it fails on the way, the channel is held
        and subscribed with the others as soon as the connection is back:
        a subscriber that came during an outage is not left deaf after it.
        """
        self._channels.add(channel)
        if not self.is_connected:
            logger.debug("redis listener: %r held until %s is back", channel, self.name)
            return
        try:
            await self._subscribe_confirmed(channel)
        except (RedisError, OSError) as exc:
            logger.debug("redis listener: %r held until %s is back: %s", channel, self.name, exc)

    async def unsubscribe(self, channel: bytes) -> None:
        """Stop delivering ``channel``; a broken connection forgets it anyway."""
        self._channels.discard(channel)
        connection = self._connection
        if connection is not None and connection.is_connected:
            with suppress(RedisError, TimeoutError):
                await self._send(connection, "UNSUBSCRIBE", channel)

    async def _subscribe_confirmed(self, channel: bytes) -> None:
        connection = self._connection
        if connection is None or not connection.is_connected:
            raise RedisConnectionError(f"redis listener: not connected to {self.name}")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                await connection.send_command("SUBSCRIBE", channel, check_health=False)
                await waiter
        except TimeoutError:
            raise RedisTimeoutError(
                f"redis listener: {self.name} did not confirm a subscription "
                f"within {COMMAND_TIMEOUT} s"
            ) from None
        finally:
            self._forget_waiter(channel, waiter)

    def _forget_waiter(self, channel: bytes, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(channel, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(channel, None)

    async def _send(self, connection: AbstractConnection, *args: bytes | str) -> None:
        # The connection has no socket timeout (reads wait for messages as
        # long as it takes), so every write brings its own.
        async with asyncio.timeout(COMMAND_TIMEOUT):
            await connection.send_command(*args, check_health=False)

    async def _connect(self) -> AbstractConnection:
        options = {**self._pool.connection_kwargs, "socket_timeout": None}
        connection = self._pool.connection_class(**options)
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                await connection.connect()  # type: ignore[no-untyped-call]
            await self._subscribe_all(connection)
        except BaseException:
            await connection.disconnect()
            raise
        self._connection = connection
        self._heard = asyncio.get_running_loop().time()
        self.connects += 1
        return connection

    async def _subscribe_all(self, connection: AbstractConnection) -> None:
        """Subscribe every held channel and wait until Redis has confirmed each.

        Until then the connection does not count as up: a publish in between
        would miss this process's own subscribers.  Channels held while this
        is on its way are subscribed too, before it returns.
        """
        pending = {self._heartbeat, *self._channels}
        sent = set(pending)
        await self._send(connection, "SUBSCRIBE", *pending)
        while True:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                while pending:
                    response = await connection.read_response(push_request=True)
                    if _is_confirmation(response):
                        pending.discard(response[1])
                    else:
                        self._handle(response)
            pending = self._channels - sent
            if not pending:
                return
            sent |= pending
            await self._send(connection, "SUBSCRIBE", *pending)

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
                connection = self._connection or await self._reconnect()
                delay = MIN_BACKOFF
                await self._listen(connection)
            except (RedisError, OSError) as exc:
                self._report(exc, delay)
            except Exception:
                logger.exception("redis listener: unexpected failure on %s", self.name)
            await self._disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _reconnect(self) -> AbstractConnection:
        connection = await self._connect()
        logger.info(
            "redis listener: reconnected to %s, %d topics", self.name, len(self._channels)
        )
        if self._lost:
            self._lost = False
            self._tell(connected=True, detail=f"reconnected to {self.name}")
        return connection

    def _report(self, exc: BaseException, delay: float) -> None:
        if self._connection is not None:
            logger.warning("redis listener: lost %s (%s); reconnecting", self.name, exc)
            if not self._lost:
                self._lost = True
                self._tell(connected=False, detail=f"lost {self.name}: {exc}")
        else:
            logger.debug(
                "redis listener: %s still unreachable (%s); next try in %.1f s",
                self.name, exc, delay,
            )

    async def _listen(self, connection: AbstractConnection) -> None:
        """Read and beat until either fails; the first failure stops both and is raised."""
        tasks = [
            asyncio.create_task(self._read(connection)),
            asyncio.create_task(self._beat()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()

    async def _read(self, connection: AbstractConnection) -> None:
        while True:
            # RESP3, redis-py's default, sends pub/sub as push frames, which
            # read_response hands back only when asked to.
            self._handle(await connection.read_response(push_request=True))

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            silent_for = loop.time() - self._heard
            if silent_for > SILENCE_LIMIT:
                raise ListenerSilent(f"no heartbeat heard for {silent_for:.1f} s")
            await self._publish(self._heartbeat, b"")
            await asyncio.sleep(HEARTBEAT_INTERVAL)

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

    def _tell(self, *, connected: bool, detail: str) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(connected, detail)
        except Exception:
            logger.exception("redis listener: status listener failed")

    def _deliver(self, channel: bytes, data: bytes) -> None:
        try:
            self._receive(channel, data)
        except Exception:
            logger.exception("redis listener: delivery on %r failed", channel)


def _is_confirmation(response: object) -> bool:
    return isinstance(response, list) and len(response) == 3 and response[0] == b"subscribe"
