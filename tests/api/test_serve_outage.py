"""``workflow serve`` through a Redis outage in the middle of a flow, and back.

The Redis here keeps its data across a restart (append-only file), as a
production one should, so the test can show the flow going on from where it
was, in the same server process, on the same WebSocket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.api.test_serve import publish, receive, subscribe, ws_url
from tests.redis_server import RedisServer
from tests.server import ServerProcess

EVENTS = "/api/workflow/runs/default/events"


@pytest.fixture
def server(
    durable_redis: RedisServer, plan_path: Path, key_prefix: str, tmp_path: Path
) -> Iterator[ServerProcess]:
    """One server process on the durable Redis."""
    args = ("--redis-url", durable_redis.url, "--key-prefix", key_prefix)
    process = ServerProcess(plan_path, args=args, log=tmp_path / "serve.log")
    process.start()
    yield process
    process.stop()


def completion(topic: str) -> str:
    """A publish that completes ``topic``, with what a step that checks its data wants."""
    done = {"status": "completed", "data": {"accepted": True}}
    return "publish-json:" + json.dumps({"topic": topic, "payload": json.dumps(done)})


def payload(message: dict[str, Any]) -> Any:
    return json.loads(message["payload"])


async def until_healthy(http: httpx.AsyncClient, url: str, timeout: float = 15) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await http.get(f"{url}/healthz")).status_code != 200:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def exchange_during_outage(
    socket: ClientConnection, http: httpx.AsyncClient, url: str
) -> dict[str, Any]:
    """Try every kind of call while Redis is away; return what each answered."""
    answers: dict[str, Any] = {
        "health": await http.get(f"{url}/healthz"),
        "read": await http.get(f"{url}/api/workflow"),
        "write": await http.post(f"{url}{EVENTS}",
                                 json={"topic": "TermsCompleted", "status": "completed"}),
    }
    await publish(socket, "news", "lost")
    answers["publish"] = await receive(socket)
    # held until Redis is back, not refused: nothing is answered to it
    await socket.send("subscribe:weather")
    return answers


async def test_serve_redis_outage_mid_flow_is_answered_told_and_recovered(
    durable_redis: RedisServer, server: ServerProcess
) -> None:
    async with (
        websockets.connect(ws_url(server)) as socket,
        httpx.AsyncClient(timeout=10) as http,
    ):
        await subscribe(socket, "BackendStatus", "WorkflowUpdated")
        await socket.send(completion("WelcomeCompleted"))
        before = payload(await receive(socket))

        durable_redis.stop()
        lost = await receive(socket)
        outage = await exchange_during_outage(socket, http, server.url)
        durable_redis.start()
        back = await receive(socket)
        healthy = await until_healthy(http, server.url)

        await socket.send(completion("TermsCompleted"))
        after = payload(await receive(socket))
        run = (await http.get(f"{server.url}/api/workflow")).json()
        await publish(socket, "weather", "sunny")
        weather = await receive(socket)

    assert (before["state"], before["seq"]) == ("plugin_terms", 1)
    assert lost["topic"] == "BackendStatus" and payload(lost)["status"] == "unavailable"
    assert [outage[call].status_code for call in ("health", "read", "write")] == [503] * 3
    for call in ("read", "write"):
        assert durable_redis.url in outage[call].json()["detail"]
    assert outage["publish"]["topic"] == "ProtocolError"
    assert "backend is unavailable" in outage["publish"]["payload"]
    assert back["topic"] == "BackendStatus" and payload(back)["status"] == "available"
    assert healthy
    assert (after["state"], after["seq"]) == ("plugin_provisioning", 2)
    assert [entry["event"] for entry in run["history"]] == ["WelcomeCompleted", "TermsCompleted"]
    assert (weather["topic"], weather["payload"]) == ("weather", "sunny")
    assert server.process is not None and server.process.poll() is None
