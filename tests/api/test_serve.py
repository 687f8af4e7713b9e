"""``workflow serve``: real uvicorn processes on one Redis behave as one server."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.redis_server import free_port
from tests.server import ServerProcess
from tests.workflow.plans import plugin_entry, write_plan
from workflow.cli import main

SYNC_TOPIC = "test.sync"
WAIT = 10.0


@pytest.fixture
def servers(
    plan_path: Path, redis_url: str, key_prefix: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on the session's redis-server, sharing one key prefix."""
    args = ("--redis-url", redis_url, "--key-prefix", key_prefix)
    one, two = (ServerProcess(plan_path, args=args, log=tmp_path / f"serve-{n}.log")
                for n in (1, 2))
    try:
        one.start()
        two.start()
        yield one, two
    finally:
        two.stop()
        one.stop()


def ws_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/ws"


async def publish(socket: ClientConnection, topic: str, payload: Any) -> None:
    await socket.send("publish-json:" + json.dumps({"topic": topic, "payload": payload}))


async def subscribe(socket: ClientConnection, *topics: str) -> None:
    """Subscribe and wait until the subscriptions are live (a probe comes back)."""
    for topic in (*topics, SYNC_TOPIC):
        await socket.send(f"subscribe:{topic}")
    probe = uuid.uuid4().hex
    await publish(socket, SYNC_TOPIC, probe)
    while (await receive(socket))["payload"] != probe:
        pass


async def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return message


async def test_serve_processes_on_one_redis_share_topics_records_and_runs(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = servers
    async with (
        websockets.connect(ws_url(one)) as listener,
        websockets.connect(ws_url(two)) as sender,
        httpx.AsyncClient(timeout=WAIT) as http,
    ):
        await subscribe(listener, "news", "DeviceUpdated", "WorkflowUpdated")

        await publish(sender, "news", "from two")
        news = await receive(listener)
        created = await http.post(f"{two.url}/api/provision/device",
                                  json={"field1": "router", "field2": True})
        device = await receive(listener)
        await sender.send("publish-json:" + json.dumps(
            {"topic": "WelcomeCompleted", "payload": json.dumps({"status": "completed"})}
        ))
        update = await receive(listener)
        seen_on_one = (await http.get(f"{one.url}/api/workflow")).json()
        await http.post(f"{one.url}/api/workflow/runs/default/events",
                        json={"topic": "TermsCompleted", "status": "completed",
                              "data": {"accepted": True}})
        seen_on_two = (await http.get(f"{two.url}/api/workflow")).json()

    assert (news["topic"], news["payload"]) == ("news", "from two")
    assert json.loads(device["payload"])["id"] == created.json()["id"]
    assert json.loads(update["payload"])["state"] == "plugin_terms"
    assert (seen_on_one["state"], seen_on_one["seq"]) == ("plugin_terms", 1)
    assert (seen_on_two["state"], seen_on_two["seq"]) == ("plugin_provisioning", 2)


async def test_serve_negotiates_no_permessage_deflate(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    async with websockets.connect(ws_url(servers[0]), compression="deflate") as socket:
        assert socket.response is not None
        extensions = socket.response.headers.get("Sec-WebSocket-Extensions")

    assert extensions is None


def test_serve_bad_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WORKFLOW_PORT", "eighty")

    assert main(["serve"]) == 2
    assert "WORKFLOW_PORT: 'eighty' is not a port number" in caplog.text


def test_serve_missing_plan_exits_1_naming_the_file(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.delenv("WORKFLOW_PLAN", raising=False)

    assert main(["serve", "--plan", str(tmp_path / "absent.toml")]) == 1
    assert "absent.toml" in caplog.text


def test_serve_open_address_without_a_token_exits_2_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WORKFLOW_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("WORKFLOW_ALLOW_INSECURE_BIND", raising=False)

    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--host: '0.0.0.0' is not a loopback address" in caplog.text
    assert "--access-token" in caplog.text and "--allow-insecure-bind" in caplog.text


def test_serve_unreachable_redis_exits_3_with_one_line_naming_it(
    plan_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"

    code = main(["serve", "--plan", str(plan_path), "--redis-url", url])

    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert code == 3
    assert len(errors) == 1
    assert f"redis at {url}: cannot connect" in errors[0].getMessage()


def test_serve_taken_port_exits_4_with_one_line_naming_it(
    plan_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        code = main(["serve", "--plan", str(plan_path), "--port", str(port)])

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert code == 4
    assert len(errors) == 1
    assert errors[0].startswith(f"serve: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_serve_resource_on_an_engine_topic_exits_1_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plan = write_plan(tmp_path, [plugin_entry("a", "a", visible_in_ui=False)])
    (tmp_path / "plugins" / "a" / "plugin.py").write_text(
        "import msgspec\nfrom workflow import Plugin\n\n"
        "class Workflow(msgspec.Struct):\n    name: str\n\n"
        "plugin = Plugin(name='a', route='a', resources={'run': Workflow})\n"
    )

    assert main(["serve", "--plan", str(plan)]) == 1
    assert "resource 'run' would announce its changes on WorkflowUpdated" in caplog.text
