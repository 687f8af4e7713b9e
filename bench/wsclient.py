"""A lean WebSocket client for load: one asyncio protocol per connection, frames parsed inline.

A general client (the ``websockets`` library) spends tens of microseconds on
each received message; with a thousand connections on a two-core machine
that would make the client, not the server, the bottleneck.  This one does
the RFC 6455 handshake by hand, offers ``permessage-deflate`` as browsers do
(and fails if a server accepts it, since both apps must run without it),
parses the server's unmasked frames in place, answers pings, and masks what
it sends.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

__all__ = ["WsConnection", "connect", "mask_frame"]

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
HANDSHAKE_TIMEOUT = 30.0

MessageHandler = Callable[[bytes, int], None]
"""Called with (payload, receive time in ns from ``time.monotonic_ns``)."""


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """Return one final, masked client frame carrying ``payload``."""
    key = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    repeated = (key * (length // 4 + 1))[:length]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return head + key + masked.to_bytes(length, "little")


class WsConnection(asyncio.Protocol):
    """One client connection; every text message goes to ``on_message``."""

    def __init__(self, on_message: MessageHandler, clock: Callable[[], int]) -> None:
        self.on_message = on_message
        self.clock = clock
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def send_text(self, text: str | bytes) -> None:
        assert self.transport is not None
        data = text.encode() if isinstance(text, str) else text
        self.transport.write(mask_frame(OP_TEXT, data))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(mask_frame(OP_CLOSE, struct.pack("!H", 1000)))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done():
            self._read_handshake()
        if self.upgraded.done():
            self._read_frames(self.clock())

    def _read_handshake(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        if not head.startswith("HTTP/1.1 101"):
            self.upgraded.set_exception(ConnectionError(f"upgrade refused: {head[:200]!r}"))
        elif "sec-websocket-extensions" in head.lower():
            self.upgraded.set_exception(
                ConnectionError("the server negotiated an extension (permessage-deflate)")
            )
        else:
            self.upgraded.set_result(None)

    def _read_frames(self, received: int) -> None:
        buffer, position, size = self.buffer, 0, len(self.buffer)
        while size - position >= 2:
            opcode, length = buffer[position] & 0x0F, buffer[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                if size - start < 2:
                    break
                length, start = int.from_bytes(buffer[start : start + 2], "big"), start + 2
            elif length == 127:
                if size - start < 8:
                    break
                length, start = int.from_bytes(buffer[start : start + 8], "big"), start + 8
            if size - start < length:
                break
            position = start + length
            self._handle(opcode, bytes(buffer[start:position]), received)
        del buffer[:position]

    def _handle(self, opcode: int, payload: bytes, received: int) -> None:
        if opcode == OP_TEXT:
            self.on_message(payload, received)
        elif opcode == OP_PING and self.transport is not None:
            self.transport.write(mask_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            if not self.closed.done():
                self.closed.set_result(None)
            if self.transport is not None:
                self.transport.close()


def _handshake(host: str, port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    ).encode()


async def connect(
    port: int, on_message: MessageHandler, clock: Callable[[], int], *, path: str = "/ws"
) -> WsConnection:
    """Open a WebSocket to 127.0.0.1:``port`` and return it once upgraded."""
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(
        lambda: WsConnection(on_message, clock), "127.0.0.1", port
    )
    assert connection.transport is not None
    connection.transport.write(_handshake("127.0.0.1", port, path))
    await asyncio.wait_for(connection.upgraded, HANDSHAKE_TIMEOUT)
    return connection
