"""The /ws topic stream: frames, deliveries, driving runs, refusals, cleanup, slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.websocket import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW, Session, Sessions, is_rfc3339
from tests.api.conftest import Stream, engine_of
from workflow.backends import MemoryBackend
from workflow.engine import Engine
from workflow.messages import Envelope
from workflow.plan import load_plan
from workflow.settings import Settings

Client = TestClient[Litestar]
Connect = Callable[..., Stream]
WALK = ["WelcomeCompleted", "TermsCompleted", "DeviceCompleted", "NotificationsCompleted",
        "FinishCompleted"]
ROUTES = ["/terms/web", "/provision/web", "/notifications/web", "/finish/web"]


def test_ws_delivery_has_exactly_the_four_keys_and_a_string_payload(connect: Connect) -> None:
    stream = connect("reader")
    stream.subscribe("news")

    stream.publish("news", '{"headline": "hi"}', publisher_name="desk",
                   timestamp="2024-05-01T10:00:00.250+02:00")
    message = stream.receive()

    assert message == {
        "publisher_name": "desk", "topic": "news", "payload": '{"headline": "hi"}',
        "timestamp": "2024-05-01T10:00:00.250+02:00",
    }


def test_ws_object_payload_is_delivered_as_its_json_text(connect: Connect) -> None:
    stream = connect("reader")
    stream.subscribe("news")

    stream.publish("news", {"headline": "hi", "n": [1, 2]})

    assert json.loads(stream.receive()["payload"]) == {"headline": "hi", "n": [1, 2]}


@pytest.mark.parametrize(
    "stamp", ["yesterday", "2024-13-01T00:00:00Z", "2024-05-01", 17, None, ["2024"], {}]
)
def test_ws_invalid_timestamp_is_replaced_by_the_server_time(connect: Connect, stamp: Any) -> None:
    stream = connect("reader")
    stream.subscribe("news")

    stream.publish("news", "x", timestamp=stamp)
    message = stream.receive()

    assert (message["topic"], message["payload"]) == ("news", "x")
    assert message["timestamp"] != stamp and is_rfc3339(message["timestamp"])


def test_ws_publisher_defaults_to_the_registered_name(connect: Connect) -> None:
    stream = connect("kiosk-7")
    stream.subscribe("news")

    stream.publish("news", "x")

    assert stream.receive()["publisher_name"] == "kiosk-7"


def test_ws_publish_reaches_every_subscriber_and_only_them(connect: Connect) -> None:
    sender, reader, other = connect("sender"), connect("reader"), connect("other")
    reader.subscribe("news")
    other.subscribe("weather")

    sender.publish("news", "x")

    assert reader.receive()["payload"] == "x"
    assert sender.is_silent() and other.is_silent()


def test_ws_unsubscribe_stops_the_deliveries(connect: Connect) -> None:
    stream = connect("reader")
    stream.subscribe("news")
    stream.send("unsubscribe:news")
    stream.sync()

    stream.publish("news", "x")

    assert stream.is_silent()


def test_ws_drives_a_whole_run_to_finished_in_order(client: Client, connect: Connect) -> None:
    watcher, driver = connect("watcher"), connect("driver")
    watcher.subscribe("SwitchRoute", "WorkflowUpdated", "WorkflowCompleted")

    for topic in WALK:
        driver.complete(topic)
    seen = [watcher.receive() for _ in range(len(WALK) * 2)]

    topics = [m["topic"] for m in seen]
    ending = ["WorkflowUpdated", "WorkflowCompleted"]
    assert topics == [*["SwitchRoute", "WorkflowUpdated"] * 4, *ending]
    assert [m["payload"] for m in seen if m["topic"] == "SwitchRoute"] == ROUTES
    updates = [json.loads(m["payload"]) for m in seen if m["topic"] == "WorkflowUpdated"]
    assert [(u["seq"], u["event"]) for u in updates] == list(enumerate(WALK, start=1))
    last = updates[-1]
    assert (last["run"], last["state"], last["status"]) == ("default", "finished", "finished")
    assert json.loads(seen[-1]["payload"]) == {"run": "default", "seq": 5}
    run = client.get("/api/workflow").json()
    assert (run["status"], run["seq"]) == ("finished", 5)
    assert {entry["publisher"] for entry in run["history"]} == {"tester"}


def test_ws_completion_names_its_run(client: Client, connect: Connect) -> None:
    client.post("/api/workflow/runs", json={"id": "second"})
    stream = connect("driver")

    stream.complete("WelcomeCompleted", run="second")
    stream.sync()

    assert client.get("/api/workflow/runs/second").json()["seq"] == 1
    assert client.get("/api/workflow").json()["seq"] == 0


def test_ws_same_completion_on_two_sockets_advances_once(client: Client, connect: Connect) -> None:
    first, second, watcher = connect("first"), connect("second"), connect("watcher")
    watcher.subscribe("WorkflowUpdated")

    first.complete("WelcomeCompleted")
    second.complete("WelcomeCompleted")
    answers = first.drain() + second.drain()

    assert [m["topic"] for m in answers] == ["ProtocolError"]
    assert "plugin_terms" in answers[0]["payload"]
    assert [json.loads(m["payload"])["seq"] for m in watcher.drain()] == [1]
    assert client.get("/api/workflow").json()["seq"] == 1


def test_ws_refused_completion_reaches_only_its_sender(connect: Connect) -> None:
    sender, listener = connect("sender"), connect("listener")
    listener.subscribe("DeviceCompleted", "ProtocolError")

    sender.complete("DeviceCompleted")

    assert sender.receive()["topic"] == "ProtocolError"
    assert listener.is_silent()


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        ("hello", "cannot understand"),
        ("subscribe", "cannot understand"),
        ("publish:{}", "cannot understand"),
        ("subscribe:", "invalid topic"),
        ("subscribe:has space", "invalid topic"),
        ("subscribe:" + "t" * 129, "invalid topic"),
        ("unsubscribe:bad*topic", "invalid topic"),
        ("register-name:", "register-name"),
        ("register-name: WorkFlow ", "engine's own"),
        ("publish-json:{", "JSON"),
        ("publish-json:[1, 2]", "JSON"),
        ('publish-json:{"payload": "x"}', "topic"),
        ('publish-json:{"topic": 5, "payload": "x"}', "topic"),
        ('publish-json:{"topic": "a b", "payload": "x"}', "invalid topic"),
        ('publish-json:{"topic": "WorkflowUpdated", "payload": "{}"}', "engine only"),
        ('publish-json:{"topic": "DeviceUpdated", "payload": "{}"}', "engine only"),
        ('publish-json:{"topic": "news", "publisher_name": "workflow"}', "engine's own"),
        ('publish-json:{"topic": "WelcomeCompleted", "payload": "{\\"status\\": '
         '\\"completed\\", \\"data\\": ' + "[" * 2000 + "]" * 2000 + '}"}', "too deeply"),
        ('publish-json:{"topic": "WelcomeCompleted", "payload": "not json"}', "WelcomeCompleted"),
        ('publish-json:{"topic": "WelcomeCompleted", "payload": "{\\"status\\": \\"ok\\"}"}',
         "status"),
        ('publish-json:{"topic": "WelcomeCompleted", "payload": "{\\"status\\": '
         '\\"completed\\", \\"run\\": \\"nope\\"}"}', "nope"),
        ("x" * (64 * 1024 + 1), "over the limit"),
    ],
)
def test_ws_bad_frame_is_answered_with_protocol_error_and_the_socket_stays_usable(
    connect: Connect, frame: str, complaint: str
) -> None:
    stream = connect("tester")

    stream.send(frame)
    answer = stream.receive()
    stream.subscribe("news")
    stream.publish("news", "still here")

    assert (answer["topic"], answer["publisher_name"]) == ("ProtocolError", "workflow")
    assert complaint in answer["payload"]
    assert stream.receive()["payload"] == "still here"


def test_ws_binary_frame_is_answered_with_protocol_error(connect: Connect) -> None:
    stream = connect("tester")

    stream.session.send_bytes(b"subscribe:news")

    assert "binary" in stream.receive()["payload"]


def test_ws_frame_limit_follows_the_settings(
    make_client: Callable[[Settings], Client], plan_path: Path
) -> None:
    small = make_client(Settings(plan=plan_path, max_frame_size=1024))

    with small.websocket_connect("/ws") as session:
        stream = Stream(session)
        stream.subscribe("news")
        stream.publish("news", "x" * 900)
        stream.publish("news", "x" * 1100)
        fitting, refused = stream.receive(), stream.receive()

    assert fitting["payload"] == "x" * 900
    assert refused["topic"] == "ProtocolError" and "1024" in refused["payload"]


def test_ws_disconnect_removes_the_client_subscriptions(client: Client, connect: Connect) -> None:
    stream = connect("leaver")
    stream.subscribe("news", "weather")
    engine = engine_of(client)
    assert {"news", "weather"} <= set(engine.bus.topics())

    stream.session.__exit__(None, None, None)
    watcher = connect("watcher")
    watcher.sync()

    assert not {"news", "weather"} & set(engine.bus.topics())


class StuckSocket:
    """A socket whose client never reads: every send waits forever."""

    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_text(self, data: bytes) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class Collector:
    """A well-behaved subscriber that keeps everything."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def deliver(self, data: bytes) -> None:
        self.received.append(data)


async def test_ws_slow_client_is_dropped_without_slowing_the_others(plan_path: Path) -> None:
    engine = Engine(load_plan(plan_path), MemoryBackend())
    socket = StuckSocket()
    slow = Session(socket, engine, name="slow", can_publish=True,  # type: ignore[arg-type]
                   max_frame_size=65536, queue_size=4)
    fast = Collector()
    await slow.handle("subscribe:flood")
    await engine.bus.subscribe("flood", fast)
    running = asyncio.create_task(slow.run())
    await asyncio.sleep(0)

    for n in range(10):
        await engine.bus.publish(Envelope("p", "flood", str(n), "2024-01-01T00:00:00Z"))
    await asyncio.wait_for(running, timeout=5)

    assert slow.overflowed
    assert socket.closed is not None and socket.closed[0] == CLOSE_TOO_SLOW
    assert len(fast.received) == 10
    assert engine.bus.topics() == ["flood"] and slow.topics == set()


async def test_ws_sessions_close_all_closes_every_client_with_1001(plan_path: Path) -> None:
    engine = Engine(load_plan(plan_path), MemoryBackend())
    sessions, sockets = Sessions(), [StuckSocket(), StuckSocket()]
    clients = [Session(socket, engine, name=f"c{n}", can_publish=True,  # type: ignore[arg-type]
                       max_frame_size=65536, queue_size=4) for n, socket in enumerate(sockets)]
    for client in clients:
        await client.handle("subscribe:news")
    served = [asyncio.create_task(sessions.serve(client)) for client in clients]
    await asyncio.sleep(0)

    await asyncio.wait_for(sessions.close_all(), timeout=5)

    assert all(task.done() for task in served)
    assert [socket.closed[0] if socket.closed else None for socket in sockets] == [
        CLOSE_GOING_AWAY, CLOSE_GOING_AWAY
    ]
    assert len(sessions) == 0 and engine.bus.topics() == []
