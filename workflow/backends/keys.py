"""Every Redis key and channel name the Redis backend uses, built from one prefix.

    <prefix>:run:<run id>            hash {seq, data}: one stored run
    <prefix>:runs                    set of run ids
    <prefix>:records:<collection>    hash record id -> JSON record
    <prefix>:claim:<key>             string: the owner holding a claim, with a TTL
    <prefix>:topic:<topic>           pub/sub channel of one topic
    <prefix>:heartbeat:<listener>    pub/sub channel a listener hears itself on
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RedisKeys"]


@dataclass(frozen=True)
class RedisKeys:
    """The names under one key prefix, so deployments sharing a Redis never meet."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or any(char.isspace() for char in self.prefix):
            raise ValueError(
                f"key prefix {self.prefix!r}: expected a non-empty name without spaces"
            )

    @property
    def runs(self) -> str:
        """The set of every run id."""
        return f"{self.prefix}:runs"

    def run(self, run_id: str) -> str:
        """The hash holding one run's ``seq`` and ``data``."""
        return f"{self.prefix}:run:{run_id}"

    def records(self, collection: str) -> str:
        """The hash of one collection's records, by id."""
        return f"{self.prefix}:records:{collection}"

    def claim(self, key: str) -> str:
        """The string naming who holds claim ``key``; it expires with the lease."""
        return f"{self.prefix}:claim:{key}"

    def topic_channel(self, topic: str) -> bytes:
        """The pub/sub channel that carries ``topic``."""
        return f"{self.prefix}:topic:{topic}".encode()

    def topic_of(self, channel: bytes) -> str | None:
        """The topic a channel carries, or None when it is not a topic channel."""
        head = f"{self.prefix}:topic:".encode()
        return channel[len(head) :].decode() if channel.startswith(head) else None

    def heartbeat_channel(self, listener_id: str) -> bytes:
        """The private channel on which listener ``listener_id`` hears its heartbeat."""
        return f"{self.prefix}:heartbeat:{listener_id}".encode()
