"""The message envelope every topic carries, on the bus and on the WebSocket."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

__all__ = ["ENGINE_PUBLISHER", "Envelope", "encode_json", "is_engine_name", "timestamp"]

ENGINE_PUBLISHER = "workflow"


class Envelope(msgspec.Struct, frozen=True):
    """One message on one topic; ``payload`` is a string, usually JSON text."""

    publisher_name: str
    topic: str
    payload: str
    timestamp: str


def is_engine_name(name: str) -> bool:
    """Tell whether ``name`` reads as the engine's own publisher name (case, spaces aside)."""
    return "".join(name.split()).casefold() == ENGINE_PUBLISHER


def timestamp(at: datetime | None = None) -> str:
    """Return ``at`` (default: now) as RFC 3339 text in UTC, with milliseconds."""
    at = at or datetime.now(UTC)
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_json(value: object) -> str:
    """Return ``value`` as compact JSON text."""
    return msgspec.json.encode(value).decode()
