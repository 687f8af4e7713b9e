"""Fixtures for the engine tests: every backend, started fresh, and an engine on each.

The ``backend`` fixture runs a test once per backend kind.  Each Redis
backend gets a key prefix no other test uses, so tests share the session's
redis-server without meeting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from workflow.backends import Backend, MemoryBackend
from workflow.backends.redis import RedisBackend
from workflow.engine import Engine
from workflow.plan import Plan, load_plan

BACKENDS = ["memory", "redis"]

PLAN = """
[general]
product_family = "tests"
execution_plan_version = "1.0.0"

[[plugins]]
name = "welcome"
plugin_route = "welcome"
version = "1.0.0"
run_after_event_name = "WorkflowStarted"

[[plugins]]
name = "provisioning"
plugin_route = "provision"
version = "1.0.0"
completed_event_name = "DeviceCompleted"

[[plugins]]
name = "finish"
plugin_route = "finish"
version = "1.0.0"
"""

OpenBackend = Callable[[], Awaitable[Backend]]
OpenRedis = Callable[..., Awaitable[RedisBackend]]


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    """A three-step plan: welcome -> provisioning (DeviceCompleted) -> finish."""
    path = tmp_path / "execution_plan.toml"
    path.write_text(PLAN)
    return load_plan(path, check_folders=False)


@pytest.fixture
async def opened() -> AsyncIterator[list[Backend]]:
    """The backends a test opened, closed at its end whatever happened."""
    backends: list[Backend] = []
    yield backends
    for backend in reversed(backends):
        await backend.close()


@pytest.fixture
def open_redis(redis_url: str, key_prefix: str, opened: list[Backend]) -> OpenRedis:
    """Open a started Redis backend (by default under the test's prefix)."""

    async def open_one(*, key_prefix: str = key_prefix) -> RedisBackend:
        backend = RedisBackend(redis_url, key_prefix=key_prefix)
        opened.append(backend)
        await backend.start()
        return backend

    return open_one


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, opened: list[Backend]) -> Backend:
    """A fresh, started backend of each kind."""
    if request.param == "redis":
        open_redis: OpenRedis = request.getfixturevalue("open_redis")
        return await open_redis()
    memory = MemoryBackend()
    opened.append(memory)
    await memory.start()
    return memory


@pytest.fixture
def reopen(backend: Backend, request: pytest.FixtureRequest) -> OpenBackend:
    """Open another backend on the storage of ``backend``, as a restarted process would.

    Memory lives in its process, so there it is the same backend object.
    """
    if isinstance(backend, RedisBackend):
        open_redis: OpenRedis = request.getfixturevalue("open_redis")
        return open_redis

    async def same() -> Backend:
        return backend

    return same


@pytest.fixture
async def engine(plan: Plan, backend: Backend) -> AsyncIterator[Engine]:
    """A started engine of ``plan`` on ``backend``."""
    started = Engine(plan, backend)
    await started.start()
    yield started
    await started.close()
