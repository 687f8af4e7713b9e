"""Tests of the provisioning plugin, run as a one-step flow on the memory backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow import InvalidRecord
from workflow.testing import run_plugin

HERE = Path(__file__).resolve().parent
TOPIC = "DeviceCompleted"  # the plan's completed_event_name for this step


async def test_provisioning_stores_a_named_device() -> None:
    async with run_plugin(HERE, completion_topic=TOPIC) as step:
        created = await step.records("device").create({"field1": "hub", "field2": True})

        assert await step.records("device").get(created["id"]) == created
        assert set(created) == {"id", "field1", "field2"}


@pytest.mark.parametrize("name", ["", "   "])
async def test_provisioning_refuses_a_blank_device_name(name: str) -> None:
    async with run_plugin(HERE, completion_topic=TOPIC) as step:
        with pytest.raises(InvalidRecord) as refused:
            await step.records("device").create({"field1": name, "field2": True})

        assert refused.value.field == "field1"
        assert await step.records("device").list_records() == []


async def test_provisioning_completes_on_device_completed() -> None:
    async with run_plugin(HERE, completion_topic=TOPIC) as step:
        run = await step.complete(data={"device_id": "d1"})

    assert [(h.event, h.status) for h in run.history] == [("DeviceCompleted", "completed")]


def test_provisioning_page_registers_through_the_device_resource() -> None:
    script = (HERE / "web" / "step-provision.js").read_text()

    assert "/api/provision/device" in script
    assert '"DeviceCompleted"' in script
