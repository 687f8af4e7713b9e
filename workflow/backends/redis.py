"""The Redis backend: runs, records and fan-out shared by every server process.

Runs and records are hashes under one key prefix (see ``keys``); every
conditional write is one Lua script, so a compare-and-set cannot interleave
with another writer.  Fan-out goes through one shared subscriber connection
per process (see ``redis_listener``).  Commands use short socket timeouts and
at most one immediate retry, so while Redis is away they fail quickly with
BackendUnavailable instead of hanging.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from workflow.backends.base import Backend
from workflow.backends.keys import RedisKeys
from workflow.backends.redis_listener import RedisListener
from workflow.errors import BackendUnavailable

__all__ = ["RedisBackend", "mask_password"]

SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
MAX_CONNECTIONS = 50
SCRIPTS = ("create_run", "replace_run", "replace_record", "renew_claim")

logger = logging.getLogger(__name__)

_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")


def mask_password(url: str) -> str:
    """Return ``url`` with any password, in the authority or the query, shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        url = url.replace(f"{userinfo}@", f"{parts.username or ''}:***@", 1)
    return _QUERY_PASSWORD.sub(r"\1***", url)


def _as_bytes(value: bytes | str | None) -> bytes | None:
    # decode_responses stays off, so replies are bytes; str is only in redis-py's types
    return value.encode() if isinstance(value, str) else value


def _as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _open_client(url: str, max_connections: int) -> Redis:
    # A blocking pool waits for a free connection instead of failing a burst;
    # one immediate retry replaces a pooled connection Redis closed meanwhile.
    try:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=SOCKET_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
    except ValueError as exc:
        raise ValueError(f"redis URL {mask_password(url)}: {exc}") from exc
    return Redis.from_pool(pool)


def _load_scripts(client: Redis) -> dict[str, AsyncScript]:
    folder = resources.files(__package__)
    return {
        name: client.register_script(folder.joinpath(f"{name}.lua").read_text())
        for name in SCRIPTS
    }


class RedisBackend(Backend):
    """Runs, records and fan-out in one Redis, under one key prefix."""

    def __init__(
        self, url: str, *, key_prefix: str = "workflow", max_connections: int = MAX_CONNECTIONS
    ) -> None:
        super().__init__()
        self.url = url
        self.name = mask_password(url)
        self.keys = RedisKeys(key_prefix)
        self._max_connections = max_connections
        self._redis: Redis | None = None
        self._listener: RedisListener | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def listener(self) -> RedisListener:
        """The shared subscriber of this process."""
        if self._listener is None:
            raise self._not_started()
        return self._listener

    async def start(self) -> None:
        """Connect and subscribe; BackendUnavailable names the URL that failed."""
        if self._redis is not None:
            return
        client = _open_client(self.url, self._max_connections)
        listener = self._new_listener(client)
        try:
            with self._reaching("cannot connect"):
                await client.ping()
                await listener.start()
        except BaseException:
            await listener.close()
            await client.aclose()
            raise
        self._redis, self._listener = client, listener
        self._scripts = _load_scripts(client)
        logger.info("redis backend: connected to %s, prefix %s", self.name, self.keys.prefix)

    async def close(self) -> None:
        """Stop the listener and close every connection; safe to call twice."""
        listener, self._listener = self._listener, None
        client, self._redis = self._redis, None
        self._scripts = {}
        if listener is not None:
            await listener.close()
        if client is not None:
            await client.aclose()
            logger.info("redis backend: closed %s", self.name)

    async def ping(self) -> None:
        """Raise BackendUnavailable unless Redis answers and fan-out is connected."""
        with self._reaching("ping failed"):
            await self._client.ping()
        if not self.listener.is_connected:
            raise BackendUnavailable(f"redis at {self.name}: subscriber is reconnecting")

    async def publish(self, topic: str, data: bytes) -> None:
        if not self.listener.is_connected:
            # Redis may answer again before this process has subscribed again: what
            # went out now would miss its own subscribers, so it is refused (and an
            # announcement kept by the bus) until the listener says it is back.
            raise BackendUnavailable(
                f"redis at {self.name}: cannot publish {topic}: subscriber is reconnecting"
            )
        channel = self.keys.topic_channel(topic)
        with self._reaching(f"cannot publish {topic}"):
            receivers = await self._client.publish(channel, data)
        if receivers == 0 and self.listener.holds(channel):
            # Nobody heard it, not even this process's own listener: its connection
            # is gone and it has not noticed yet (a killed pub/sub client).
            raise BackendUnavailable(
                f"redis at {self.name}: {topic} reached no subscriber; the subscriber "
                "connection is lost"
            )

    async def subscribe(self, topic: str) -> None:
        await self.listener.subscribe(self.keys.topic_channel(topic))

    async def unsubscribe(self, topic: str) -> None:
        await self.listener.unsubscribe(self.keys.topic_channel(topic))

    async def get_run(self, run_id: str) -> bytes | None:
        with self._reaching(f"cannot read run {run_id}"):
            return _as_bytes(await self._client.hget(self.keys.run(run_id), "data"))

    async def list_runs(self) -> list[bytes]:
        with self._reaching("cannot list runs"):
            run_ids = sorted(map(_as_text, await self._client.smembers(self.keys.runs)))
            pipeline = self._client.pipeline(transaction=False)
            for run_id in run_ids:
                pipeline.hget(self.keys.run(run_id), "data")
            found = await pipeline.execute()
        return [data for data in map(_as_bytes, found) if data is not None]

    async def create_run(self, run_id: str, data: bytes) -> bool:
        keys = [self.keys.run(run_id), self.keys.runs]
        return await self._run_script("create_run", keys, [run_id, data], f"run {run_id}")

    async def replace_run(self, run_id: str, data: bytes, *, expected_seq: int) -> bool:
        keys = [self.keys.run(run_id)]
        return await self._run_script("replace_run", keys, [expected_seq, data], f"run {run_id}")

    async def list_records(self, collection: str) -> list[bytes]:
        with self._reaching(f"cannot list {collection}"):
            records = await self._client.hvals(self.keys.records(collection))
        return [data for data in map(_as_bytes, records) if data is not None]

    async def get_record(self, collection: str, record_id: str) -> bytes | None:
        with self._reaching(f"cannot read {collection} {record_id}"):
            return _as_bytes(await self._client.hget(self.keys.records(collection), record_id))

    async def put_record(
        self,
        collection: str,
        record_id: str,
        data: bytes,
        *,
        create: bool = False,
        expected: bytes | None = None,
    ) -> bool:
        key = self.keys.records(collection)
        if create:
            with self._reaching(f"cannot create {collection} {record_id}"):
                return bool(await self._client.hsetnx(key, record_id, data))
        args: list[Any] = [record_id, data] if expected is None else [record_id, data, expected]
        return await self._run_script("replace_record", [key], args, f"{collection} {record_id}")

    async def delete_record(self, collection: str, record_id: str) -> bool:
        with self._reaching(f"cannot delete {collection} {record_id}"):
            return bool(await self._client.hdel(self.keys.records(collection), record_id))

    async def claim(self, key: str, owner: str, ttl: float, *, renew: bool = False) -> bool:
        lease_ms = max(1, round(ttl * 1000))
        if renew:
            args = [owner, lease_ms]
            return await self._run_script("renew_claim", [self.keys.claim(key)], args, key)
        with self._reaching(f"cannot claim {key}"):
            claimed = await self._client.set(self.keys.claim(key), owner, px=lease_ms, nx=True)
        return bool(claimed)

    @property
    def _client(self) -> Redis:
        if self._redis is None:
            raise self._not_started()
        return self._redis

    def _new_listener(self, client: Redis) -> RedisListener:
        return RedisListener(
            client.connection_pool,
            name=self.name,
            heartbeat_channel=self.keys.heartbeat_channel(uuid.uuid4().hex),
            publish=client.publish,
            receive=self._receive_channel,
            on_status=self._report_status,
        )

    def _receive_channel(self, channel: bytes, data: bytes) -> None:
        topic = self.keys.topic_of(channel)
        if topic is not None:
            self._receive(topic, data)

    async def _run_script(self, name: str, keys: list[str], args: list[Any], subject: str) -> bool:
        script = self._scripts.get(name)
        if script is None:
            raise self._not_started()
        with self._reaching(f"cannot write {subject}"):
            return bool(await script(keys=keys, args=args))

    def _not_started(self) -> RuntimeError:
        return RuntimeError(f"redis backend {self.name} is not started: await start() first")

    @contextmanager
    def _reaching(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (RedisError, OSError) as exc:
            # unreachable, or refusing (out of memory, a read-only replica, still loading)
            raise BackendUnavailable(f"redis at {self.name}: {doing}: {exc}") from exc
