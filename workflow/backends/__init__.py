"""Backends: where runs and records live and how topics reach every process."""

from __future__ import annotations

from workflow.backends.base import Backend, MessageReceiver
from workflow.backends.memory import MemoryBackend

__all__ = ["Backend", "MemoryBackend", "MessageReceiver", "open_backend"]


def open_backend(url: str | None, *, key_prefix: str = "workflow") -> Backend:
    """Return the backend for ``url``: memory when it is empty, Redis for redis:// URLs.

    Raises ValueError for any other scheme.
    """
    if not url or url == "memory://":
        return MemoryBackend()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from workflow.backends.redis import RedisBackend

        return RedisBackend(url, key_prefix=key_prefix)
    raise ValueError(f"backend URL {url!r}: expected redis://..., rediss://... or memory://")
