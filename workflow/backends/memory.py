"""The in-process backend: the default when no Redis URL is configured.

It serves one process only; everything lives in dicts and is gone at exit.
"""

from __future__ import annotations

import time

from workflow.backends.base import Backend

__all__ = ["MemoryBackend"]


class MemoryBackend(Backend):
    """Runs, records and fan-out inside this process."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._topics: set[str] = set()
        self._runs: dict[str, tuple[int, bytes]] = {}
        self._records: dict[str, dict[str, bytes]] = {}
        self._claims: dict[str, tuple[str, float]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._topics.clear()

    async def ping(self) -> None:
        return None

    async def publish(self, topic: str, data: bytes) -> None:
        if topic in self._topics:
            self._receive(topic, data)

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)

    async def get_run(self, run_id: str) -> bytes | None:
        stored = self._runs.get(run_id)
        return stored[1] if stored else None

    async def list_runs(self) -> list[bytes]:
        return [data for _, data in self._runs.values()]

    async def create_run(self, run_id: str, data: bytes) -> bool:
        if run_id in self._runs:
            return False
        self._runs[run_id] = (0, data)
        return True

    async def replace_run(self, run_id: str, data: bytes, *, expected_seq: int) -> bool:
        stored = self._runs.get(run_id)
        if stored is None or stored[0] != expected_seq:
            return False
        self._runs[run_id] = (expected_seq + 1, data)
        return True

    async def list_records(self, collection: str) -> list[bytes]:
        return list(self._records.get(collection, {}).values())

    async def get_record(self, collection: str, record_id: str) -> bytes | None:
        return self._records.get(collection, {}).get(record_id)

    async def put_record(
        self,
        collection: str,
        record_id: str,
        data: bytes,
        *,
        create: bool = False,
        expected: bytes | None = None,
    ) -> bool:
        records = self._records.setdefault(collection, {})
        if (record_id in records) == create:
            return False
        if expected is not None and records.get(record_id) != expected:
            return False
        records[record_id] = data
        return True

    async def delete_record(self, collection: str, record_id: str) -> bool:
        return self._records.get(collection, {}).pop(record_id, None) is not None

    async def claim(self, key: str, owner: str, ttl: float, *, renew: bool = False) -> bool:
        holder, expires = self._claims.get(key, (None, 0.0))
        now = time.monotonic()
        if holder is not None and expires > now and (holder != owner or not renew):
            return holder == owner and renew
        self._claims[key] = (owner, now + ttl)
        return True
