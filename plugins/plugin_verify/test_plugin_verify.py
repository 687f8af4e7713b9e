"""The device check runs by itself after provisioning, in the repository's flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from workflow.backends import MemoryBackend
from workflow.engine import Engine
from workflow.plan import load_plan
from workflow.plugin import load_plugin
from workflow.runs import Completion, Run

PLAN = Path(__file__).resolve().parents[2] / "execution_plan.toml"


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    """The repository's flow, at the provisioning step, on the memory backend."""
    plan = load_plan(PLAN)
    engine = Engine(plan, MemoryBackend(), plugins={s.name: load_plugin(s) for s in plan.steps})
    await engine.start()
    for topic in ("WelcomeCompleted", "TermsCompleted"):
        await engine.complete(Completion(topic, "completed"))
    yield engine
    await engine.close()


async def settled(engine: Engine, seq: int) -> Run:
    """Wait until the run has reached ``seq`` (the check has ended one way or another)."""
    async with asyncio.timeout(5):
        while (run := await engine.get_run("default")).seq < seq:
            await asyncio.sleep(0.01)
    return run


async def test_verify_completes_when_the_device_is_on_record(engine: Engine) -> None:
    await engine.record_store("provision", "device").create({"field1": "hub", "field2": True})
    await engine.complete(Completion("DeviceCompleted", "completed"))

    run = await settled(engine, 4)

    assert run.state == "plugin_notifications"
    assert (run.history[-1].event, run.history[-1].status) == ("VerifyCompleted", "completed")
    assert run.history[-1].publisher == "plugin_verify"


async def test_verify_skips_after_a_skipped_provisioning(engine: Engine) -> None:
    await engine.complete(Completion("DeviceCompleted", "skipped"))

    run = await settled(engine, 4)

    assert run.state == "plugin_notifications"
    assert run.history[-1].status == "skipped"


async def test_verify_fails_without_a_device_and_passes_on_retry(engine: Engine) -> None:
    await engine.complete(Completion("DeviceCompleted", "completed"))

    failed = await settled(engine, 4)
    assert failed.state == "plugin_verify"
    assert failed.history[-1].error == (
        "LookupError: no Device is registered; register one, then retry this step"
    )

    await engine.record_store("provision", "device").create({"field1": "hub", "field2": False})
    await engine.retry_step("default")

    run = await settled(engine, 5)
    assert run.state == "plugin_notifications"
