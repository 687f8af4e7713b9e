"""The device check runs by itself after provisioning."""

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
from workflow.testing import run_plugin

HERE = Path(__file__).resolve().parent
PLUGINS = HERE.parent
PLAN = """
[general]
product_family = "verify-test"
execution_plan_version = "1"

[[plugins]]
name = "plugin_provisioning"
plugin_route = "provision"
version = "1"
plugin_base_path = "{plugins}"
completed_event_name = "DeviceCompleted"

[[plugins]]
name = "plugin_verify"
plugin_route = "verify"
version = "1"
plugin_base_path = "{plugins}"
visible_in_ui = false

[[plugins]]
name = "plugin_notifications"
plugin_route = "notifications"
version = "1"
plugin_base_path = "{plugins}"
"""


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """Provisioning, the check, and the step after it, on the memory backend."""
    path = tmp_path / "execution_plan.toml"
    path.write_text(PLAN.format(plugins=PLUGINS.as_posix()))
    plan = load_plan(path)
    engine = Engine(plan, MemoryBackend(), plugins={s.name: load_plugin(s) for s in plan.steps})
    await engine.start()
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

    run = await settled(engine, 2)

    assert run.state == "plugin_notifications"
    assert (run.history[-1].event, run.history[-1].status) == ("VerifyCompleted", "completed")
    assert run.history[-1].publisher == "plugin_verify"


async def test_verify_skips_after_a_skipped_provisioning(engine: Engine) -> None:
    await engine.complete(Completion("DeviceCompleted", "skipped"))

    run = await settled(engine, 2)

    assert run.state == "plugin_notifications"
    assert run.history[-1].status == "skipped"


async def test_verify_fails_without_a_device_and_passes_on_retry(engine: Engine) -> None:
    await engine.complete(Completion("DeviceCompleted", "completed"))

    failed = await settled(engine, 2)
    assert failed.state == "plugin_verify"
    assert failed.history[-1].error == (
        "LookupError: no Device is registered; register one, then retry this step"
    )

    await engine.record_store("provision", "device").create({"field1": "hub", "field2": False})
    await engine.retry_step("default")

    run = await settled(engine, 3)
    assert run.state == "plugin_notifications"


async def test_verify_alone_reads_the_devices_of_the_plugin_it_uses() -> None:
    async with run_plugin(HERE, uses=[PLUGINS / "plugin_provisioning"]) as step:
        failed = await step.wait_until_left()
        assert failed.history[-1].error is not None

        await step.records("device", route="provision").create({"field1": "hub", "field2": True})
        await step.engine.retry_step("default")
        run = await step.wait_until_left()

    assert run.status == "finished"
    assert (run.history[-1].event, run.history[-1].status) == ("VerifyCompleted", "completed")
