"""Fixtures shared by every test folder: paths and a private redis-server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (where execution_plan.toml lives)."""
    return ROOT


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server started for this test session on a free port, stopped at the end."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone that keeps its data when stopped and started."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder, durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's redis-server, started again if a test stopped it."""
    if redis_server.process is None:
        redis_server.start()
    return redis_server.url


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test uses, so tests sharing the server never meet."""
    return f"test-{uuid.uuid4().hex[:12]}"
