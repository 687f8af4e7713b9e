"""The bus: announcements of stored changes outlive an outage; BackendStatus stays local."""

from __future__ import annotations

import json

import pytest

from tests.workflow.inbox import Inbox
from workflow.backends import MemoryBackend
from workflow.bus import Bus
from workflow.engine import Engine
from workflow.errors import BackendUnavailable
from workflow.messages import Envelope, timestamp
from workflow.plan import Plan
from workflow.runs import DEFAULT_RUN, Completion
from workflow.topics import BACKEND_STATUS, WORKFLOW_UPDATED


class FlakyBackend(MemoryBackend):
    """The memory backend, whose fan-out can be switched off like a lost Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.subscribed: list[str] = []

    async def publish(self, topic: str, data: bytes) -> None:
        if self.down:
            raise BackendUnavailable("flaky: publish refused")
        await super().publish(topic, data)

    async def subscribe(self, topic: str) -> None:
        self.subscribed.append(topic)
        await super().subscribe(topic)

    def go(self, *, up: bool) -> None:
        self.down = not up
        self._report_status(up, "back" if up else "lost")


def news(text: str) -> Envelope:
    return Envelope("desk", "News", text, timestamp())


async def payloads(inbox: Inbox) -> list[str]:
    return [json.loads(data)["payload"] for _, data in await inbox.drain(0.05)]


async def test_bus_publish_while_the_backend_is_away_fails_and_keeps_nothing() -> None:
    backend = FlakyBackend()
    bus, inbox = Bus(backend), Inbox()
    await bus.subscribe("News", inbox)
    backend.down = True

    with pytest.raises(BackendUnavailable):
        await bus.publish(news("lost"))
    backend.go(up=True)
    await bus.flush()

    assert bus.backlog == 0
    assert await payloads(inbox) == []


async def test_bus_announcements_are_kept_in_order_and_sent_when_the_backend_is_back() -> None:
    backend = FlakyBackend()
    bus, inbox = Bus(backend), Inbox()
    await bus.subscribe("News", inbox)

    backend.go(up=False)
    for text in ("one", "two", "three"):
        await bus.announce(news(text))
    kept = bus.backlog
    backend.go(up=True)  # starts sending what was kept, in the background

    assert kept == 3
    assert await payloads(inbox) == ["one", "two", "three"]
    assert bus.backlog == 0


async def test_bus_backlog_is_bounded_dropping_the_oldest() -> None:
    backend = FlakyBackend()
    bus, inbox = Bus(backend, max_backlog=2), Inbox()
    await bus.subscribe("News", inbox)

    backend.down = True
    for text in ("one", "two", "three"):
        await bus.announce(news(text))
    backend.down = False
    await bus.flush()

    assert await payloads(inbox) == ["two", "three"]


async def test_bus_backend_status_is_told_to_local_subscribers_only() -> None:
    backend = FlakyBackend()
    bus, watcher = Bus(backend), Inbox()
    backend.down = True
    await bus.subscribe(BACKEND_STATUS, watcher)

    backend.go(up=False)
    backend.go(up=True)
    told = [json.loads(json.loads(data)["payload"]) for _, data in await watcher.drain(0.05)]

    assert [(notice["status"], notice["detail"]) for notice in told] == [
        ("unavailable", "lost"), ("available", "back"),
    ]
    assert {notice["backend"] for notice in told} == {"memory"}
    assert backend.subscribed == []


async def test_engine_completion_stored_before_an_outage_is_answered_and_told_later(
    plan: Plan,
) -> None:
    backend = FlakyBackend()
    engine = Engine(plan, backend)
    await engine.start()
    watcher = Inbox()
    await engine.bus.subscribe(WORKFLOW_UPDATED, watcher)
    backend.down = True

    advanced = await engine.complete(Completion("WelcomeCompleted", "completed", DEFAULT_RUN))
    unheard = await watcher.drain(0.05)
    backend.go(up=True)
    updates = [json.loads(json.loads(data)["payload"]) for _, data in await watcher.drain(0.1)]
    await engine.close()

    assert (advanced.state, advanced.seq) == ("provisioning", 1)
    assert unheard == []
    assert [(update["state"], update["seq"]) for update in updates] == [("provisioning", 1)]
