"""Fixtures for the API tests: an app on each backend, and a /ws client that speaks frames.

The app runs in Litestar's TestClient, whose portal thread runs the app, its
lifespan and every WebSocket session on one event loop; the tests themselves
are plain functions that block on it.
"""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient, WebSocketTestSession

from api import create_app
from workflow.engine import Engine
from workflow.settings import Settings

BACKENDS = ["memory", "redis"]
SYNC_TOPIC = "test.sync"
WAIT = 5.0
#: The Host the test clients name: the default settings' loopback address.
OWN_HOST = "127.0.0.1:8081"

ONBOARDING_PLAN = """
[general]
product_family = "onboarding"
execution_plan_version = "1.0.0"

[[plugins]]
name = "plugin_welcome"
plugin_route = "welcome"
version = "1.0.0"
plugin_base_path = "{plugins}"

[[plugins]]
name = "plugin_terms"
plugin_route = "terms"
version = "1.0.0"
plugin_base_path = "{plugins}"

[[plugins]]
name = "plugin_provisioning"
plugin_route = "provision"
version = "1.0.0"
plugin_base_path = "{plugins}"
completed_event_name = "DeviceCompleted"

[[plugins]]
name = "plugin_notifications"
plugin_route = "notifications"
version = "1.0.0"
plugin_base_path = "{plugins}"

[[plugins]]
name = "plugin_finish"
plugin_route = "finish"
version = "1.0.0"
plugin_base_path = "{plugins}"
"""

CATALOG_PLUGIN = '''
import msgspec

from workflow import Plugin


class Size(msgspec.Struct, forbid_unknown_fields=True):
    width: int
    height: int


class Gadget(msgspec.Struct):
    name: str
    size: Size
    count: int = 1
    note: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)


plugin = Plugin(name="plugin_catalog", route="catalog", resources={"gadget": Gadget})
'''

CATALOG_PLAN = """
[general]
product_family = "tests"
execution_plan_version = "2.0.0"

[[plugins]]
name = "plugin_catalog"
plugin_route = "catalog"
version = "1.0.0"
run_after_event_name = "WorkflowStarted"

[[plugins]]
name = "plugin_provisioning"
plugin_route = "provision"
version = "1.0.0"
plugin_base_path = "{plugins}"
completed_event_name = "DeviceCompleted"
"""


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """None for the memory backend, or the URL of the session's redis-server."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def plan_path(tmp_path: Path, repo_root: Path) -> Path:
    """The onboarding plan the tests walk, on the repository's plugins.

    The tests keep their own copy so the product's default plan may change.
    """
    path = tmp_path / "onboarding.toml"
    path.write_text(ONBOARDING_PLAN.format(plugins=(repo_root / "plugins").as_posix()))
    return path


@pytest.fixture
def settings(plan_path: Path, backend_url: str | None, key_prefix: str) -> Settings:
    """Settings for the onboarding plan on the backend under test."""
    return Settings(plan=plan_path, redis_url=backend_url, key_prefix=key_prefix)


@pytest.fixture
def catalog_plan(tmp_path: Path, repo_root: Path) -> Path:
    """A plan with a Gadget resource (nested struct, optional fields) before provisioning."""
    folder = tmp_path / "plugins" / "plugin_catalog"
    (folder / "web").mkdir(parents=True)
    (folder / "plugin.py").write_text(CATALOG_PLUGIN)
    (folder / "web" / "step-catalog.js").write_text("export function activate() {}\n")
    plan = tmp_path / "execution_plan.toml"
    plan.write_text(CATALOG_PLAN.format(plugins=(repo_root / "plugins").as_posix()))
    return plan


@pytest.fixture
def make_client() -> Iterator[Callable[[Settings], TestClient[Litestar]]]:
    """Start an app for some settings; every app started is stopped at the end."""
    clients: list[TestClient[Litestar]] = []

    def make(settings: Settings) -> TestClient[Litestar]:
        client = TestClient(create_app(settings), base_url=f"http://{OWN_HOST}", timeout=WAIT)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(
    make_client: Callable[[Settings], TestClient[Litestar]], settings: Settings
) -> TestClient[Litestar]:
    """The app on the onboarding plan, started on the backend under test."""
    return make_client(settings)


def engine_of(client: TestClient[Litestar]) -> Engine:
    """The engine behind a test client's app."""
    engine: Engine = client.app.state.engine
    return engine


class Stream:
    """The test's side of one /ws connection: frames out, decoded envelopes in."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session
        self._early: list[dict[str, Any]] = []

    def send(self, frame: str) -> None:
        self.session.send_text(frame)

    def publish(self, topic: str, payload: Any, **fields: Any) -> None:
        self.send("publish-json:" + json.dumps({"topic": topic, "payload": payload, **fields}))

    def complete(self, topic: str, status: str = "completed", **payload: Any) -> None:
        if topic == "TermsCompleted":
            payload.setdefault("data", {"accepted": True})  # the terms step wants acceptance
        self.publish(topic, json.dumps({"status": status, **payload}), publisher_name="tester")

    def subscribe(self, *topics: str) -> None:
        """Subscribe, and wait until the subscriptions are live on the backend."""
        for topic in topics:
            self.send(f"subscribe:{topic}")
        self.sync()

    def sync(self) -> None:
        """Wait until every frame sent so far has been acted on.

        Frames are handled in order, so once a probe published after them
        comes back, they are done; messages that arrive first are kept.
        """
        self.send(f"subscribe:{SYNC_TOPIC}")
        probe = uuid.uuid4().hex
        self.publish(SYNC_TOPIC, probe)
        while True:
            message = self._next(WAIT)
            if message["topic"] != SYNC_TOPIC:
                self._early.append(message)
            elif message["payload"] == probe:
                return

    def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        """Return the next delivery (skipping sync probes)."""
        if self._early:
            return self._early.pop(0)
        while (message := self._next(timeout))["topic"] == SYNC_TOPIC:
            pass
        return message

    def receive_payload(self, topic: str) -> Any:
        """Return the JSON payload of the next delivery, which must be on ``topic``."""
        message = self.receive()
        assert message["topic"] == topic, message
        return json.loads(message["payload"])

    def drain(self) -> list[dict[str, Any]]:
        """Return every delivery caused by the frames sent so far, and nothing later."""
        self.sync()
        drained, self._early = self._early, []
        return drained

    def is_silent(self, timeout: float = 0.3) -> bool:
        """Tell whether nothing (but sync probes) arrives within ``timeout`` seconds."""
        try:
            while self._next(timeout)["topic"] == SYNC_TOPIC:
                pass
        except queue.Empty:
            return not self._early
        return False

    def _next(self, timeout: float) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.session.receive_text(timeout=timeout))
        return message


@pytest.fixture
def connect(client: TestClient[Litestar]) -> Iterator[Callable[..., Stream]]:
    """Open /ws connections on ``client``; all are closed at the end."""
    sessions: list[WebSocketTestSession] = []

    def open_stream(name: str | None = None, **kwargs: Any) -> Stream:
        session = client.websocket_connect("/ws", **kwargs)
        session.__enter__()
        sessions.append(session)
        stream = Stream(session)
        if name:
            stream.send(f"register-name:{name}")
        return stream

    yield open_stream
    for session in reversed(sessions):
        session.__exit__(None, None, None)
