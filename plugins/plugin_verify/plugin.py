"""Device check: a server-side step that confirms the provisioned device is on record.

It runs by itself after the provisioning step.  When provisioning was
skipped it skips too; when a ``Device`` record exists it completes; when
provisioning completed but no device is on record it fails, and the step can
be retried (``POST /api/workflow/runs/<id>/retry``) once a device is registered.
"""

from __future__ import annotations

from workflow import Plugin, StepContext

PROVISIONING_TOPIC = "DeviceCompleted"


def provisioning_skipped(step: StepContext) -> bool:
    """Tell whether the person skipped the provisioning step of this run."""
    statuses = [h.status for h in step.run.history if h.event == PROVISIONING_TOPIC]
    return statuses[-1:] == ["skipped"]


async def on_enter(step: StepContext) -> None:
    """Complete when a device is on record, skip after a skipped provisioning, else fail."""
    if provisioning_skipped(step):
        await step.skip({"reason": "provisioning was skipped"})
        return
    devices = await step.records("device", route="provision").list_records()
    if not devices:
        raise LookupError("no Device is registered; register one, then retry this step")
    await step.complete({"devices": len(devices)})


plugin = Plugin(name="plugin_verify", route="verify", on_enter=on_enter)
