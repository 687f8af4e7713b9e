"""What only the Redis backend does: several processes, outages, silent subscriptions."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from redis.asyncio import Redis

from tests.redis_server import RedisServer, free_port
from tests.workflow.conftest import OpenRedis
from tests.workflow.inbox import Inbox
from workflow.backends import Backend, MemoryBackend, open_backend
from workflow.backends.redis import RedisBackend, mask_password
from workflow.engine import Engine
from workflow.errors import BackendUnavailable, CompletionNotApplicable
from workflow.messages import Envelope, timestamp
from workflow.plan import Plan
from workflow.runs import DEFAULT_RUN, Completion, Run
from workflow.topics import BACKEND_STATUS, WORKFLOW_UPDATED

StartEngine = Callable[[Backend], Awaitable[Engine]]


def chat(text: str) -> Envelope:
    return Envelope("alice", "Chat", text, timestamp())


async def deafen(backend: RedisBackend) -> None:
    """Drop every subscription of the listener while its socket stays open."""
    connection = backend.listener._connection
    assert connection is not None
    await connection.send_command("UNSUBSCRIBE", check_health=False)


@pytest.fixture
async def start_engine(plan: Plan) -> AsyncIterator[StartEngine]:
    """Start engines of ``plan``, one per backend given; all are closed at the end."""
    engines: list[Engine] = []

    async def start(backend: Backend) -> Engine:
        engine = Engine(plan, backend)
        engines.append(engine)
        await engine.start()
        return engine

    yield start
    for engine in engines:
        await engine.close()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client of the test's redis-server, for looking at and meddling with it."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_redis_two_engines_apply_the_same_completion_once(
    start_engine: StartEngine, open_redis: OpenRedis
) -> None:
    first = await start_engine(await open_redis())
    second = await start_engine(await open_redis())
    updates = Inbox()
    await second.bus.subscribe(WORKFLOW_UPDATED, updates)
    completion = Completion("WelcomeCompleted", "completed")

    copies = [engine.complete(completion) for engine in (first, second) for _ in range(25)]
    results = await asyncio.gather(*copies, return_exceptions=True)

    advanced = [result for result in results if isinstance(result, Run)]
    refused = [result for result in results if isinstance(result, CompletionNotApplicable)]
    assert (len(advanced), len(refused)) == (1, 49)
    stored = await second.get_run(DEFAULT_RUN)
    assert (stored.state, stored.seq, len(stored.history)) == ("provisioning", 1, 1)
    announced = [await updates.envelope(), *await updates.drain()]
    assert len(announced) == 1


async def test_redis_fan_out_reaches_subscribers_on_every_connection(
    start_engine: StartEngine, open_redis: OpenRedis
) -> None:
    engines = [await start_engine(await open_redis()) for _ in range(3)]
    inboxes = [Inbox() for _ in engines]
    for engine, inbox in zip(engines, inboxes, strict=True):
        await engine.bus.subscribe("Chat", inbox)
    sent = chat("hello")

    await engines[0].publish(sent)

    for inbox in inboxes:
        assert await inbox.envelope() == sent
        assert await inbox.drain(wait=0.1) == []


async def test_redis_key_prefixes_keep_deployments_apart(
    open_redis: OpenRedis, key_prefix: str
) -> None:
    one = await open_redis(key_prefix=f"{key_prefix}-one")
    two = await open_redis(key_prefix=f"{key_prefix}-two")
    heard_one, heard_two = Inbox(), Inbox()
    one.set_receiver(heard_one)
    two.set_receiver(heard_two)
    await one.subscribe("Chat")
    await two.subscribe("Chat")

    await one.create_run("r1", b"run of one")
    await one.put_record("devices", "d1", b"device of one", create=True)
    await one.publish("Chat", b"for one")

    assert await heard_one.get() == ("Chat", b"for one")
    assert await heard_two.drain() == []
    assert (await two.get_run("r1"), await two.list_runs()) == (None, [])
    assert (await two.get_record("devices", "d1"), await two.list_records("devices")) == (None, [])
    assert await two.create_run("r1", b"run of two")
    assert await one.get_run("r1") == b"run of one"


async def test_redis_stores_runs_and_records_under_the_prefix(
    open_redis: OpenRedis, key_prefix: str, admin: Redis
) -> None:
    backend = await open_redis()
    await backend.create_run("r1", b"seq 0")
    await backend.replace_run("r1", b"seq 1", expected_seq=0)
    await backend.put_record("devices", "d1", b"device", create=True)

    assert await admin.hgetall(f"{key_prefix}:run:r1") == {b"seq": b"1", b"data": b"seq 1"}
    assert await admin.smembers(f"{key_prefix}:runs") == {b"r1"}
    assert await admin.hgetall(f"{key_prefix}:records:devices") == {b"d1": b"device"}
    assert len(await admin.keys(f"{key_prefix}:*")) == 3


async def test_redis_outage_fails_fast_and_fan_out_comes_back_by_itself(
    redis_server: RedisServer,
    start_engine: StartEngine,
    open_redis: OpenRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="workflow.backends")
    engine = await start_engine(await open_redis())
    inbox, latecomer = Inbox(), Inbox()
    await engine.bus.subscribe("Chat", inbox)
    operations: list[Callable[[], Awaitable[object]]] = [
        lambda: engine.get_run(DEFAULT_RUN),
        lambda: engine.publish(chat("lost")),
        lambda: engine.backend.put_record("devices", "d1", b"device", create=True),
        lambda: engine.backend.ping(),
    ]

    redis_server.stop()
    try:
        for operation in operations:
            started = asyncio.get_running_loop().time()
            with pytest.raises(BackendUnavailable, match=re.escape(redis_server.url)):
                await operation()
            assert asyncio.get_running_loop().time() - started < 1.0
        # a subscription made during the outage is held, not refused
        await asyncio.wait_for(engine.bus.subscribe("Other", latecomer), timeout=1.0)
    finally:
        redis_server.start()

    assert engine.bus.topics() == ["Chat", "Other"]
    _, arrived = await inbox.until_received(lambda: engine.publish(chat("back")), within=10)
    assert msgspec.json.decode(arrived, type=Envelope).payload == "back"
    other = Envelope("tests", "Other", "late", timestamp())
    _, arrived = await latecomer.until_received(lambda: engine.publish(other), within=5)
    assert msgspec.json.decode(arrived, type=Envelope).payload == "late"
    assert "redis listener: reconnected to" in caplog.text
    await engine.backend.ping()


async def test_redis_outage_is_told_on_backend_status_once_lost_and_once_back(
    redis_server: RedisServer, start_engine: StartEngine, open_redis: OpenRedis
) -> None:
    engine = await start_engine(await open_redis())
    watcher = Inbox()
    await engine.bus.subscribe(BACKEND_STATUS, watcher)

    redis_server.stop()
    try:
        lost = await watcher.envelope(timeout=5)
    finally:
        redis_server.start()
    back = await watcher.envelope(timeout=10)

    assert json.loads(lost.payload)["status"] == "unavailable"
    assert redis_server.url in json.loads(lost.payload)["detail"]
    assert json.loads(back.payload)["status"] == "available"
    assert await watcher.drain(wait=1.5) == []


async def test_redis_fan_out_recovers_after_client_kill_type_pubsub(
    start_engine: StartEngine, open_redis: OpenRedis, admin: Redis
) -> None:
    backend = await open_redis()
    engine = await start_engine(backend)
    inbox = Inbox()
    await engine.bus.subscribe("Chat", inbox)
    connects = backend.listener.connects

    assert await admin.client_kill_filter(_type="pubsub") >= 1

    await inbox.until_received(lambda: engine.publish(chat("again")), within=5)
    assert backend.listener.connects > connects


async def test_redis_listener_rebuilds_a_subscription_that_went_silent(
    start_engine: StartEngine, open_redis: OpenRedis
) -> None:
    backend = await open_redis()
    engine = await start_engine(backend)
    inbox = Inbox()
    await engine.bus.subscribe("Chat", inbox)
    connects = backend.listener.connects
    # Nothing arrives, a silent failure that the heartbeat must notice.  A publisher is told.
    await deafen(backend)
    with pytest.raises(BackendUnavailable, match="reached no subscriber"):
        await engine.publish(chat("unheard"))
    assert await inbox.drain(wait=0.5) == []

    await inbox.until_received(lambda: engine.publish(chat("heard")), within=8)
    assert backend.listener.connects == connects + 1


async def test_redis_start_against_an_unreachable_url_names_it(plan: Plan) -> None:
    port = free_port()
    backend = RedisBackend(f"redis://:s3cret@127.0.0.1:{port}/0", key_prefix="unreachable")
    engine = Engine(plan, backend)
    started = asyncio.get_running_loop().time()

    with pytest.raises(BackendUnavailable) as caught:
        await engine.start()

    assert asyncio.get_running_loop().time() - started < 3.0
    assert f"redis://:***@127.0.0.1:{port}/0" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "s3cret" not in str(caught.value.__cause__)
    await engine.close()


async def test_redis_backend_used_before_start_says_what_was_forgotten(redis_url: str) -> None:
    backend = RedisBackend(redis_url)

    with pytest.raises(RuntimeError, match=r"await start\(\) first"):
        await backend.get_run(DEFAULT_RUN)
    with pytest.raises(RuntimeError, match=r"await start\(\) first"):
        await backend.subscribe("Chat")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:secret@db:6379/0", "redis://:***@db:6379/0"),
        ("rediss://app:secret@db:6380", "rediss://app:***@db:6380"),
        ("unix:///run/redis.sock?password=secret&db=1", "unix:///run/redis.sock?password=***&db=1"),
    ],
)
def test_redis_backend_name_masks_the_password(url: str, shown: str) -> None:
    assert mask_password(url) == shown
    assert RedisBackend(url).name == shown


def test_redis_open_backend_picks_redis_for_a_redis_url_else_memory() -> None:
    backend = open_backend("redis://:secret@db:6379/0", key_prefix="tenant")

    assert isinstance(backend, RedisBackend)
    assert (backend.name, backend.keys.prefix) == ("redis://:***@db:6379/0", "tenant")
    assert isinstance(open_backend(None), MemoryBackend)


async def test_redis_default_run_lost_with_the_data_is_started_again(
    open_redis: OpenRedis, start_engine: StartEngine, key_prefix: str, admin: Redis
) -> None:
    engine = await start_engine(await open_redis())
    await engine.complete(Completion("WelcomeCompleted", "completed"))
    await admin.delete(f"{key_prefix}:run:{DEFAULT_RUN}", f"{key_prefix}:runs")

    run = await engine.get_run(DEFAULT_RUN)

    assert (run.state, run.seq) == (engine.plan.start, 0)
    assert [r.id for r in await engine.list_runs()] == [DEFAULT_RUN]


async def test_redis_changes_stored_before_the_listener_is_back_are_announced_after(
    start_engine: StartEngine, open_redis: OpenRedis, admin: Redis
) -> None:
    backend = await open_redis()
    engine = await start_engine(backend)
    updates = Inbox()
    await engine.bus.subscribe(WORKFLOW_UPDATED, updates)

    # Redis answers commands but refuses the listener its subscriptions: the
    # window between a Redis restart and the listener's return, held open.
    await admin.execute_command("ACL", "SETUSER", "default", "-subscribe")
    try:
        await admin.client_kill_filter(_type="pubsub")
        while backend.listener.is_connected:
            await asyncio.sleep(0.05)
        run = await engine.create_run("stored-meanwhile")
        nothing_yet = await updates.drain(wait=0.5)
    finally:
        await admin.execute_command("ACL", "SETUSER", "default", "+subscribe")

    announced = await updates.envelope(timeout=10)
    assert nothing_yet == []
    assert json.loads(announced.payload)["run"] == run.id
    assert await engine.get_run(run.id) == run


async def test_redis_refusing_writes_is_backend_unavailable_naming_why(
    start_engine: StartEngine, open_redis: OpenRedis, admin: Redis
) -> None:
    engine = await start_engine(await open_redis())

    await admin.config_set("maxmemory", 1)
    try:
        with pytest.raises(BackendUnavailable, match="maxmemory"):
            await engine.backend.put_record("devices", "d1", b"device", create=True)
        with pytest.raises(BackendUnavailable, match="maxmemory"):
            await engine.create_run("refused")
    finally:
        await admin.config_set("maxmemory", 0)

    assert await engine.backend.get_run("refused") is None


async def test_redis_change_published_to_nobody_while_the_listener_is_deaf_is_sent_again(
    start_engine: StartEngine, open_redis: OpenRedis
) -> None:
    backend = await open_redis()
    engine = await start_engine(backend)
    updates = Inbox()
    await engine.bus.subscribe(WORKFLOW_UPDATED, updates)
    # as in the moment between Redis killing the listener's connection and its noticing
    await deafen(backend)

    run = await engine.create_run("published-to-nobody")

    announced = await updates.envelope(timeout=10)
    assert json.loads(announced.payload)["run"] == run.id
