"""The engine on every backend: transitions applied exactly once, announced, resumed."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from tests.workflow.conftest import OpenBackend
from tests.workflow.inbox import Inbox
from workflow.engine import Engine
from workflow.errors import CompletionNotApplicable
from workflow.messages import Envelope, timestamp
from workflow.plan import Plan
from workflow.runs import DEFAULT_RUN, Completion, Run
from workflow.topics import WORKFLOW_UPDATED

WELCOME_DONE = Completion("WelcomeCompleted", "completed", publisher="tester")


def completion_envelope(topic: str, status: str = "completed") -> Envelope:
    return Envelope("client", topic, f'{{"status": "{status}"}}', timestamp())


async def test_engine_start_creates_the_default_run_at_the_start_state(engine: Engine) -> None:
    run = await engine.get_run(DEFAULT_RUN)

    assert (run.state, run.status, run.seq, run.history) == ("welcome", "running", 0, ())


async def test_engine_completion_advances_the_run_and_records_history(engine: Engine) -> None:
    advanced = await engine.complete(WELCOME_DONE)

    stored = await engine.get_run(DEFAULT_RUN)
    assert stored == advanced
    assert (stored.state, stored.seq) == ("provisioning", 1)
    [entry] = stored.history
    assert (entry.from_, entry.to, entry.event) == ("welcome", "provisioning", "WelcomeCompleted")
    assert (entry.status, entry.publisher) == ("completed", "tester")


async def test_engine_applies_50_concurrent_copies_of_a_completion_once(engine: Engine) -> None:
    copies = [engine.complete(WELCOME_DONE) for _ in range(50)]
    results = await asyncio.gather(*copies, return_exceptions=True)

    advanced = [result for result in results if isinstance(result, Run)]
    refused = [result for result in results if isinstance(result, CompletionNotApplicable)]
    assert (len(advanced), len(refused)) == (1, 49)
    stored = await engine.get_run(DEFAULT_RUN)
    assert (stored.state, stored.seq, len(stored.history)) == ("provisioning", 1, 1)


async def test_engine_publishes_a_completion_then_the_update(engine: Engine) -> None:
    inbox = Inbox()
    await engine.bus.subscribe("WelcomeCompleted", inbox)
    await engine.bus.subscribe(WORKFLOW_UPDATED, inbox)
    sent = completion_envelope("WelcomeCompleted")

    await engine.publish(sent)

    assert await inbox.envelope() == sent
    update = await inbox.envelope()
    assert update.topic == WORKFLOW_UPDATED
    assert msgspec.json.decode(update.payload) == {
        "run": DEFAULT_RUN, "state": "provisioning", "previous": "welcome",
        "status": "running", "seq": 1, "event": "WelcomeCompleted", "route": "provision",
    }
    assert await inbox.drain() == []


async def test_engine_refused_completion_changes_nothing_and_is_not_published(
    engine: Engine,
) -> None:
    inbox = Inbox()
    await engine.bus.subscribe("DeviceCompleted", inbox)
    await engine.bus.subscribe(WORKFLOW_UPDATED, inbox)

    with pytest.raises(CompletionNotApplicable, match="welcome"):
        await engine.publish(completion_envelope("DeviceCompleted"))

    assert await inbox.drain() == []
    assert (await engine.get_run(DEFAULT_RUN)).seq == 0


async def test_engine_resumes_a_stored_run_in_a_new_instance(
    plan: Plan, engine: Engine, reopen: OpenBackend
) -> None:
    await engine.complete(WELCOME_DONE)
    before = await engine.get_run(DEFAULT_RUN)
    await engine.close()

    second = Engine(plan, await reopen())
    await second.start()
    try:
        assert await second.get_run(DEFAULT_RUN) == before
        advanced = await second.complete(Completion("DeviceCompleted", "skipped"))
    finally:
        await second.close()

    assert (advanced.state, advanced.seq) == ("finish", 2)
    assert advanced.history[:1] == before.history
    assert [entry.event for entry in advanced.history] == ["WelcomeCompleted", "DeviceCompleted"]
