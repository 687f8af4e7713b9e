"""``workflow serve`` and misbehaving WebSocket clients: slow, vanished, oversized.

A ``RawClient`` speaks WebSocket over a bare socket through websockets'
sans-I/O protocol, so it does only what the test says: it never reads
unless asked, and so never answers a ping.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import websockets
from redis import Redis
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame
from websockets.uri import parse_uri

from tests.api.test_serve import SYNC_TOPIC, publish, subscribe, ws_url
from tests.server import ServerProcess
from workflow.backends.keys import RedisKeys

StartServer = Callable[..., ServerProcess]
FLOOD = 6000
AHEAD = 100
PAYLOAD = "x" * 2000


class RawClient:
    """A WebSocket client that sends frames and reads only when told to."""

    def __init__(self, url: str, *, receive_buffer: int | None = None) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.sock = socket.socket()
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        parts = urlsplit(url)
        self.sock.connect((parts.hostname, parts.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.handshake_exc is None and not self.protocol.events_received():
            self.protocol.receive_data(self.sock.recv(4096))
        assert self.protocol.handshake_exc is None, self.protocol.handshake_exc

    def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def sync(self, timeout: float = 5.0) -> None:
        """Wait until the frames sent so far are acted on (a probe published after them is back)."""
        probe = uuid.uuid4().hex
        self.send(f"subscribe:{SYNC_TOPIC}")
        self.send("publish-json:" + json.dumps({"topic": SYNC_TOPIC, "payload": probe}))
        self.sock.settimeout(timeout)
        while True:
            self.protocol.receive_data(self.sock.recv(1 << 16))
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and probe.encode() in event.data:
                    return

    def read_to_the_end(self, timeout: float) -> tuple[list[Frame], int | None]:
        """Read until the server ends the connection; the frames, and the close code if any."""
        self.sock.settimeout(timeout)
        frames: list[Frame] = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            self.protocol.receive_data(data)
            frames.extend(event for event in self.protocol.events_received()
                          if isinstance(event, Frame))
            if self.protocol.close_rcvd is not None:
                break
        return frames, self.protocol.close_rcvd.code if self.protocol.close_rcvd else None

    def close(self) -> None:
        self.sock.close()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.sock.sendall(data)


@pytest.fixture
def start_server(plan_path: Path, tmp_path: Path) -> Iterator[StartServer]:
    """Start servers on the onboarding plan with extra arguments; all stopped at the end."""
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = ServerProcess(plan_path, args=args, log=tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


def subscribers(redis_url: str, channel: bytes) -> int:
    with Redis.from_url(redis_url) as admin:
        counts = dict(admin.pubsub_numsub(channel))
    return int(counts.get(channel, 0))


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_serve_client_that_stops_answering_pings_is_dropped_and_unsubscribed(
    start_server: StartServer, redis_url: str, key_prefix: str
) -> None:
    server = start_server("--redis-url", redis_url, "--key-prefix", key_prefix,
                          "--ws-ping-interval", "0.3", "--ws-ping-timeout", "1")
    keys = RedisKeys(key_prefix)
    ghost = RawClient(ws_url(server))
    async with websockets.connect(ws_url(server)) as alive:
        ghost.send("subscribe:ghost")
        await subscribe(alive, "alive")
        assert wait_for(lambda: subscribers(redis_url, keys.topic_channel("ghost")) == 1, 5)

        dropped = await asyncio.to_thread(
            wait_for, lambda: subscribers(redis_url, keys.topic_channel("ghost")) == 0, 10
        )
        await asyncio.sleep(1.0)  # several more pings: the live client answers them
        await publish(alive, "alive", "still here")
        heard = json.loads(await asyncio.wait_for(alive.recv(), 5))
    _, code = ghost.read_to_the_end(timeout=2)
    ghost.close()

    assert dropped
    assert code == 1011
    assert heard["payload"] == "still here"


async def read_flood(socket: ClientConnection, received: list[str]) -> None:
    """Read the whole flood as it comes, as a client that keeps up does."""
    while len(received) < FLOOD:
        received.append(json.loads(await asyncio.wait_for(socket.recv(), 10))["payload"])


async def publish_flood(socket: ClientConnection, received: list[str]) -> None:
    """Publish the flood, never more than AHEAD messages before the reader.

    The test's reader shares one event loop with its publisher; without
    pacing, publishing alone would keep the reader from keeping up.
    """
    for n in range(FLOOD):
        while n - len(received) > AHEAD:
            await asyncio.sleep(0.001)
        await publish(socket, "flood", f"{n} {PAYLOAD}")


async def test_serve_slow_reader_is_closed_1013_while_the_others_keep_up(
    start_server: StartServer,
) -> None:
    server = start_server()
    slow = RawClient(ws_url(server), receive_buffer=4096)
    async with (
        websockets.connect(ws_url(server), max_size=None) as fast,
        websockets.connect(ws_url(server)) as publisher,
    ):
        slow.send("subscribe:flood")
        slow.sync()
        await subscribe(fast, "flood")
        started = time.monotonic()
        received: list[str] = []
        await asyncio.gather(read_flood(fast, received), publish_flood(publisher, received))
        took = time.monotonic() - started
        frames, code = slow.read_to_the_end(timeout=5)
    slow.close()

    assert [int(payload.split()[0]) for payload in received] == list(range(FLOOD))
    assert took < 10, took
    assert code == 1013
    assert 0 < len(frames) < FLOOD, len(frames)


async def test_serve_frame_over_four_times_the_limit_closes_with_1009(
    start_server: StartServer,
) -> None:
    server = start_server("--max-frame-size", "1KiB")
    async with websockets.connect(ws_url(server)) as socket, \
            websockets.connect(ws_url(server)) as bystander:
        await subscribe(bystander, "news")
        await socket.send("publish-json:" + "x" * 3000)
        refusal = json.loads(await asyncio.wait_for(socket.recv(), 5))
        await socket.send("publish-json:" + "x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        await publish(bystander, "news", "fine")
        heard = json.loads(await asyncio.wait_for(bystander.recv(), 5))

    assert refusal["topic"] == "ProtocolError" and "1024" in refusal["payload"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert heard["payload"] == "fine"


@pytest.mark.parametrize("key", ["token", "%74oken", "%74%6F%6B%65%6E"])
async def test_serve_logs_never_show_the_access_token(start_server: StartServer, key: str) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    server = start_server("--access-token", secret)
    async with websockets.connect(f"{ws_url(server)}?{key}={secret}&lang=en") as socket:
        await subscribe(socket, "news")
        await publish(socket, "news", "with the token")
        heard = json.loads(await asyncio.wait_for(socket.recv(), 5))
    server.stop()

    log = server.log.read_text()
    assert heard["payload"] == "with the token"
    assert f"/ws?{key}=***&lang=en" in log
    assert secret not in log


async def test_serve_logs_never_show_the_token_under_a_mistyped_key(
    start_server: StartServer,
) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    server = start_server("--access-token", secret)
    async with websockets.connect(f"{ws_url(server)}?TOKEN={secret}") as socket:
        await socket.send("subscribe:news")  # it counts for nothing: the client only listens
    server.stop()

    log = server.log.read_text()
    assert "/ws?TOKEN=***" in log
    assert secret not in log


async def test_serve_refuses_a_handshake_naming_another_host(start_server: StartServer) -> None:
    server = start_server()
    rebound = f"ws://evil.example:{server.port}/ws"  # a foreign name that resolved to loopback

    async with websockets.connect(rebound, host="127.0.0.1", port=server.port) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "host" in closed.value.rcvd.reason


@pytest.mark.parametrize(
    ("args", "query", "headers"),
    [
        (("--access-token", "right"), "?token=wrong", {}),
        ((), "", {"Origin": "https://evil.example"}),
    ],
    ids=["wrong-token", "foreign-origin"],
)
async def test_serve_refused_handshake_reaches_the_client_as_close_1008(
    start_server: StartServer, args: tuple[str, ...], query: str, headers: dict[str, str]
) -> None:
    server = start_server(*args)

    async with websockets.connect(ws_url(server) + query, additional_headers=headers) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
