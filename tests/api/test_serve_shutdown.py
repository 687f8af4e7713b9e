"""``workflow serve`` on SIGTERM: stop accepting, finish requests, close /ws with 1001, exit 0."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.server import ServerProcess

SLOW_PLUGIN = '''
import asyncio

from litestar import get

from workflow import Plugin


@get("/wait")
async def wait_a_second() -> dict[str, str]:
    await asyncio.sleep(1.0)
    return {"waited": "1s"}


plugin = Plugin(name="plugin_slow", route="slow", route_handlers=[wait_a_second])
'''

SLOW_PLAN = """
[general]
product_family = "tests"
execution_plan_version = "1.0.0"

[[plugins]]
name = "plugin_slow"
plugin_route = "slow"
version = "1.0.0"
visible_in_ui = false
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose plugin answers GET /api/slow/wait after one second."""
    (tmp_path / "plugins" / "plugin_slow").mkdir(parents=True)
    (tmp_path / "plugins" / "plugin_slow" / "plugin.py").write_text(SLOW_PLUGIN)
    plan = tmp_path / "execution_plan.toml"
    plan.write_text(SLOW_PLAN)
    process = ServerProcess(plan, log=tmp_path / "serve.log")
    process.start()
    yield process
    process.stop()


async def test_serve_sigterm_finishes_requests_closes_ws_1001_and_exits_0(
    server: ServerProcess,
) -> None:
    assert server.process is not None
    ws_url = server.url.replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url) as socket, httpx.AsyncClient(timeout=10) as http:
        await socket.send("subscribe:news")
        in_flight = asyncio.create_task(http.get(f"{server.url}/api/slow/wait"))
        await asyncio.sleep(0.3)

        server.process.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        answered = await in_flight
        code = await asyncio.to_thread(server.wait, 5)
        took = time.monotonic() - asked

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert (answered.status_code, answered.json()) == (200, {"waited": "1s"})
    assert code == 0 and took < 5
    assert "Traceback" not in server.log.read_text()


async def test_serve_sigterm_stops_accepting_at_once(server: ServerProcess) -> None:
    assert server.process is not None
    async with httpx.AsyncClient(timeout=10) as http:
        in_flight = asyncio.create_task(http.get(f"{server.url}/api/slow/wait"))
        await asyncio.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)

        with pytest.raises(httpx.ConnectError):
            await httpx.AsyncClient().get(f"{server.url}/healthz")
        assert (await in_flight).status_code == 200
    assert await asyncio.to_thread(server.wait, 5) == 0
