"""The small interface the engine needs from a backend.

A backend does three things: fans topic messages out to every process
(publish, subscribe), stores runs with compare-and-set on their ``seq``, and
stores resource records by collection and id.  Values are opaque bytes; the
engine encodes and decodes them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["Backend", "MessageReceiver", "StatusReceiver"]

MessageReceiver = Callable[[str, bytes], None]
"""Called with (topic, data) for every message on a subscribed topic."""

StatusReceiver = Callable[[bool, str], None]
"""Called with (available, detail) when the backend's fan-out is lost or back."""


class Backend(ABC):
    """Fan-out, run storage and record storage for one deployment."""

    #: A short description for logs and errors (a URL without its password).
    name: str

    def __init__(self) -> None:
        self._receiver: MessageReceiver | None = None
        self._status_receiver: StatusReceiver | None = None

    def set_receiver(self, receiver: MessageReceiver) -> None:
        """Route every message of a subscribed topic to ``receiver`` (one per process)."""
        self._receiver = receiver

    def set_status_receiver(self, receiver: StatusReceiver) -> None:
        """Tell ``receiver`` when fan-out is lost and when it is back (never for memory)."""
        self._status_receiver = receiver

    def _receive(self, topic: str, data: bytes) -> None:
        if self._receiver is not None:
            self._receiver(topic, data)

    def _report_status(self, available: bool, detail: str) -> None:
        if self._status_receiver is not None:
            self._status_receiver(available, detail)

    @abstractmethod
    async def start(self) -> None:
        """Connect; raises BackendUnavailable naming what could not be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect and stop background work."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise BackendUnavailable unless the backend answers."""

    @abstractmethod
    async def publish(self, topic: str, data: bytes) -> None:
        """Send ``data`` to every process subscribed to ``topic``."""

    @abstractmethod
    async def subscribe(self, topic: str) -> None:
        """Start receiving messages on ``topic`` in this process.

        While fan-out is lost, the subscription is held and takes effect when
        it is back; it does not fail for that.
        """

    @abstractmethod
    async def unsubscribe(self, topic: str) -> None:
        """Stop receiving messages on ``topic`` in this process."""

    @abstractmethod
    async def get_run(self, run_id: str) -> bytes | None:
        """Return the stored run, or None."""

    @abstractmethod
    async def list_runs(self) -> list[bytes]:
        """Return every stored run."""

    @abstractmethod
    async def create_run(self, run_id: str, data: bytes) -> bool:
        """Store a new run at seq 0; False when ``run_id`` exists already."""

    @abstractmethod
    async def replace_run(self, run_id: str, data: bytes, *, expected_seq: int) -> bool:
        """Store ``data`` only if the stored run's seq is ``expected_seq``.

        The new run's seq is ``expected_seq + 1``.  Returns False when another
        writer got there first (or the run is gone), and nothing is written.
        """

    @abstractmethod
    async def list_records(self, collection: str) -> list[bytes]:
        """Return every record of ``collection``."""

    @abstractmethod
    async def get_record(self, collection: str, record_id: str) -> bytes | None:
        """Return one record, or None."""

    @abstractmethod
    async def put_record(
        self,
        collection: str,
        record_id: str,
        data: bytes,
        *,
        create: bool = False,
        expected: bytes | None = None,
    ) -> bool:
        """Store a record; with ``create``, only if absent, else only if present.

        With ``expected``, a replacement is written only while the stored
        record is still exactly ``expected`` (compare-and-set on a read).
        Returns False, writing nothing, when that condition does not hold.
        """

    @abstractmethod
    async def delete_record(self, collection: str, record_id: str) -> bool:
        """Delete a record; False when there was none."""

    async def claim(self, key: str, owner: str, ttl: float, *, renew: bool = False) -> bool:
        """Hold ``key`` for ``owner`` during ``ttl`` seconds.

        Without ``renew``, only if nobody holds it; with ``renew``, only if
        ``owner`` holds it (or nobody does).  Returns whether ``owner`` holds it now.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot claim keys")
