"""The bare reference: the product's underlying work in a minimal Litestar app, no engine.

Every benchmark figure is a ratio to this app measured in the same run, so it
does the same I/O and the same decoding as the product, and nothing else:

- ``GET /api/provision/device/{id}``: one Redis ``HGET``, the stored JSON as is.
- ``POST /api/provision/device``: msgspec validation of a ``Device``, ``HSETNX``,
  one ``PUBLISH`` of ``DeviceUpdated``.
- ``POST /api/workflow/runs`` and ``.../{id}/events``: the run read, moved along a
  fixed table of the default plan, written with a compare-and-set script and
  announced with the same messages the engine publishes.
- ``/ws``: the text protocol (``subscribe:``, ``unsubscribe:``, ``publish-json:``);
  one shared Redis subscription per process (or an in-process set) fans out to a
  bounded queue and a writer task per connection.

Configured by environment: ``BENCH_REDIS_URL`` (empty: in-process fan-out and
dicts) and ``BENCH_KEY_PREFIX``.  Run it with
``uvicorn bench.bare_app:create_app --factory --ws-per-message-deflate false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Request, Response, get, post, websocket
from litestar.connection import WebSocket
from litestar.exceptions import WebSocketDisconnect
from redis.asyncio import Redis

__all__ = ["create_app"]

QUEUE_LIMIT = 1024
FLOW = {
    "welcome": ("WelcomeCompleted", "terms"),
    "terms": ("TermsCompleted", "provision"),
    "provision": ("DeviceCompleted", "notifications"),
    "notifications": ("NotificationsCompleted", "finish"),
    "finish": ("FinishCompleted", "finished"),
}
ROUTES = {state: state for state in FLOW}
TOPIC = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
CREATE_RUN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'seq', 0, 'data', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""
REPLACE_RUN = """
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
if seq == nil or seq ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', seq + 1, 'data', ARGV[2])
return 1
"""


class Device(msgspec.Struct, forbid_unknown_fields=True):
    field1: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
    field2: bool


class Envelope(msgspec.Struct):
    publisher_name: str
    topic: str
    payload: str
    timestamp: str


class Step(msgspec.Struct, rename={"from_": "from"}):
    from_: str
    to: str
    event: str
    status: str
    publisher: str
    at: datetime


class Run(msgspec.Struct):
    id: str
    state: str
    status: str
    plan_version: str
    seq: int
    started_at: datetime
    updated_at: datetime
    history: list[Step] = []


class NewRun(msgspec.Struct, forbid_unknown_fields=True):
    id: str | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True):
    topic: str
    status: str
    data: Any = None
    publisher: str = "api"


_encode = msgspec.json.encode
_decode_device = msgspec.json.Decoder(Device).decode
_decode_envelope = msgspec.json.Decoder(Envelope).decode
_decode_run = msgspec.json.Decoder(Run).decode
_decode_new_run = msgspec.json.Decoder(NewRun).decode
_decode_event = msgspec.json.Decoder(Event).decode


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp() -> str:
    return _now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(content: bytes, status: int = 200) -> Response[bytes]:
    return Response(content, status_code=status, media_type="application/json")


class Client:
    """One connection's bounded queue, drained by its writer task."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self.socket = socket
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_LIMIT)
        self.topics: set[str] = set()

    def deliver(self, data: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a slow client loses messages
            self.queue.put_nowait(data)

    async def write(self) -> None:
        while True:
            data = await self.queue.get()
            await self.socket.send_data(data)


class Hub:
    """Topics, records and runs: in Redis when a URL is given, else in this process."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.redis = Redis.from_url(url) if url else None
        self.subscribers: dict[str, set[Client]] = {}
        self.records: dict[str, bytes] = {}
        self.runs: dict[str, tuple[int, bytes]] = {}
        self._listener: asyncio.Task[None] | None = None
        if self.redis is not None:
            self.pubsub = self.redis.pubsub()
            self._create_run = self.redis.register_script(CREATE_RUN)
            self._replace_run = self.redis.register_script(REPLACE_RUN)

    def channel(self, topic: str) -> str:
        return f"{self.prefix}:topic:{topic}"

    async def start(self) -> None:
        if self.redis is not None:
            await self.pubsub.subscribe(f"{self.prefix}:heartbeat")
            self._listener = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self.redis is not None:
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
            await self.redis.aclose()

    async def _listen(self) -> None:
        head = len(self.channel(""))
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is not None and message["type"] == "message":
                self.dispatch(message["channel"][head:].decode(), message["data"])

    def dispatch(self, topic: str, data: bytes) -> None:
        for client in tuple(self.subscribers.get(topic, ())):
            client.deliver(data)

    async def publish(self, topic: str, data: bytes) -> None:
        if self.redis is None:
            self.dispatch(topic, data)
        else:
            await self.redis.publish(self.channel(topic), data)

    async def subscribe(self, topic: str, client: Client) -> None:
        clients = self.subscribers.setdefault(topic, set())
        if not clients and self.redis is not None:
            await self.pubsub.subscribe(self.channel(topic))
        clients.add(client)
        client.topics.add(topic)

    async def unsubscribe(self, topic: str, client: Client) -> None:
        clients = self.subscribers.get(topic, set())
        clients.discard(client)
        client.topics.discard(topic)
        if not clients and self.subscribers.pop(topic, None) is not None and self.redis:
            await self.pubsub.unsubscribe(self.channel(topic))

    async def get_record(self, record_id: str) -> bytes | None:
        if self.redis is None:
            return self.records.get(record_id)
        data = await self.redis.hget(f"{self.prefix}:records:device", record_id)
        return data.encode() if isinstance(data, str) else data

    async def create_record(self, record_id: str, data: bytes) -> None:
        if self.redis is None:
            self.records.setdefault(record_id, data)
        else:
            await self.redis.hsetnx(f"{self.prefix}:records:device", record_id, data)

    async def get_run(self, run_id: str) -> bytes | None:
        if self.redis is None:
            stored = self.runs.get(run_id)
            return stored[1] if stored else None
        data = await self.redis.hget(f"{self.prefix}:run:{run_id}", "data")
        return data.encode() if isinstance(data, str) else data

    async def create_run(self, run_id: str, data: bytes) -> bool:
        if self.redis is None:
            return self.runs.setdefault(run_id, (0, data))[1] is data
        keys = [f"{self.prefix}:run:{run_id}", f"{self.prefix}:runs"]
        return bool(await self._create_run(keys=keys, args=[run_id, data]))

    async def replace_run(self, run_id: str, data: bytes, seq: int) -> bool:
        if self.redis is None:
            if self.runs.get(run_id, (None,))[0] != seq:
                return False
            self.runs[run_id] = (seq + 1, data)
            return True
        keys = [f"{self.prefix}:run:{run_id}"]
        return bool(await self._replace_run(keys=keys, args=[seq, data]))

    async def announce(self, topic: str, payload: object, publisher: str = "workflow") -> None:
        text = payload if isinstance(payload, str) else _encode(payload).decode()
        await self.publish(topic, _encode(Envelope(publisher, topic, text, _stamp())))


def _hub(request: Request[Any, Any, Any]) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


@get("/healthz")
async def healthz(request: Request[Any, Any, Any]) -> Response[bytes]:
    hub = _hub(request)
    try:
        if hub.redis is not None:
            await hub.redis.ping()
    except Exception:
        return _json(b'{"status":"unavailable"}', 503)
    return _json(b'{"status":"ok"}')


@get("/api/provision/device/{record_id:str}")
async def get_device(request: Request[Any, Any, Any], record_id: str) -> Response[bytes]:
    data = await _hub(request).get_record(record_id)
    if data is None:
        return _json(b'{"detail":"not found"}', 404)
    return _json(data)


@post("/api/provision/device")
async def create_device(request: Request[Any, Any, Any]) -> Response[bytes]:
    try:
        device = _decode_device(await request.body())
    except msgspec.DecodeError as exc:
        return _json(_encode({"detail": str(exc)}), 400)
    hub = _hub(request)
    record_id = uuid.uuid4().hex
    record = {"id": record_id, **msgspec.structs.asdict(device)}
    await hub.create_record(record_id, _encode(record))
    update = {"status": "created", "id": record_id, "record": record}
    await hub.announce("DeviceUpdated", update, publisher="api")
    return _json(_encode({"message": "Resource created", "id": record_id}), 201)


@post("/api/workflow/runs")
async def create_run(request: Request[Any, Any, Any]) -> Response[bytes]:
    try:
        body = _decode_new_run(await request.body() or b"{}")
    except msgspec.DecodeError as exc:
        return _json(_encode({"detail": str(exc)}), 400)
    at = _now()
    run = Run(body.id or uuid.uuid4().hex, "welcome", "running", "1.0.0", 0, at, at)
    data = _encode(run)
    hub = _hub(request)
    if not await hub.create_run(run.id, data):
        return _json(b'{"detail":"run exists"}', 409)
    await hub.announce("WorkflowUpdated", _update(run, None, "WorkflowStarted"))
    return _json(data, 201)


@post("/api/workflow/runs/{run_id:str}/events")
async def post_event(request: Request[Any, Any, Any], run_id: str) -> Response[bytes]:
    try:
        event = _decode_event(await request.body())
    except msgspec.DecodeError as exc:
        return _json(_encode({"detail": str(exc)}), 400)
    hub = _hub(request)
    stored = await hub.get_run(run_id)
    if stored is None:
        return _json(b'{"detail":"unknown run"}', 404)
    run = _decode_run(stored)
    step = FLOW.get(run.state)
    if step is None or step[0] != event.topic or event.status not in ("completed", "skipped"):
        return _json(b'{"detail":"not applicable"}', 409)
    if event.topic == "TermsCompleted" and event.data != {"accepted": True}:
        return _json(b'{"detail":"accept the terms"}', 409)
    advanced = _advance(run, step[1], event)
    data = _encode(advanced)
    if not await hub.replace_run(run_id, data, run.seq):
        return _json(b'{"detail":"run changed"}', 409)
    await _announce_completion(hub, run, advanced, event)
    return _json(data)


def _advance(run: Run, dest: str, event: Event) -> Run:
    at = _now()
    entry = Step(run.state, dest, event.topic, event.status, event.publisher, at)
    status = "finished" if dest == "finished" else "running"
    history = [*run.history, entry]
    return msgspec.structs.replace(
        run, state=dest, status=status, seq=run.seq + 1, updated_at=at, history=history
    )


def _update(run: Run, previous: str | None, event: str) -> dict[str, Any]:
    return {
        "run": run.id, "state": run.state, "previous": previous, "status": run.status,
        "seq": run.seq, "event": event, "route": ROUTES.get(run.state),
    }


async def _announce_completion(hub: Hub, run: Run, advanced: Run, event: Event) -> None:
    payload = {"status": event.status, "run": run.id, "data": event.data}
    await hub.announce(event.topic, payload, publisher=event.publisher)
    await hub.announce("WorkflowUpdated", _update(advanced, run.state, event.topic))
    if advanced.state == "finished":
        await hub.announce("WorkflowCompleted", {"run": run.id, "seq": advanced.seq})


async def _serve_frame(hub: Hub, client: Client, text: str) -> None:
    command, _, argument = text.partition(":")
    if command == "subscribe" and TOPIC.fullmatch(argument):
        await hub.subscribe(argument, client)
    elif command == "unsubscribe":
        await hub.unsubscribe(argument, client)
    elif command == "publish-json":
        try:
            envelope = _decode_envelope(argument)
        except msgspec.DecodeError:
            return client.deliver(b'{"topic":"ProtocolError"}')
        if TOPIC.fullmatch(envelope.topic):
            await hub.publish(envelope.topic, _encode(envelope))
    elif command != "register-name":
        client.deliver(b'{"topic":"ProtocolError"}')


@websocket("/ws")
async def ws(socket: WebSocket[Any, Any, Any]) -> None:
    hub: Hub = socket.app.state.hub
    await socket.accept()
    client = Client(socket)
    writer = asyncio.create_task(client.write())
    try:
        while True:
            await _serve_frame(hub, client, await socket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        writer.cancel()
        for topic in tuple(client.topics):
            await hub.unsubscribe(topic, client)


def _lifespan(hub: Hub) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.hub = hub
        await hub.start()
        try:
            yield
        finally:
            await hub.close()

    return lifespan


def create_app() -> Litestar:
    """Return the bare app, configured from ``BENCH_REDIS_URL`` and ``BENCH_KEY_PREFIX``."""
    hub = Hub(os.environ.get("BENCH_REDIS_URL", ""), os.environ.get("BENCH_KEY_PREFIX", "bare"))
    handlers = [healthz, get_device, create_device, create_run, post_event, ws]
    return Litestar(route_handlers=handlers, lifespan=[_lifespan(hub)], openapi_config=None)
