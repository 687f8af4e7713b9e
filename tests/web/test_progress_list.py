"""The progress list: a skipped step is marked skipped, not ticked off like a completed one."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.server import ServerProcess
from tests.web.steps import open_shell, shoot, step_shown, walk_welcome_and_terms

LISTED = ["Welcome", "Terms", "Provisioning", "Notifications (skipped)", "Finish"]


async def test_skipped_step_is_marked_skipped_live_and_after_a_reload(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)
    async with httpx.AsyncClient(base_url=server.url) as client:
        device = {"field1": "hub", "field2": False}
        assert (await client.post("/api/provision/device", json=device)).status_code == 201
        completion = {"topic": "DeviceCompleted", "status": "completed"}
        assert (await client.post("/api/workflow/runs/default/events", json=completion)).is_success
    await step_shown(page, "plugin_notifications")
    await page.get_by_role("button", name="Skip for now").click()
    await step_shown(page, "plugin_finish")

    steps = page.locator("#progress-steps li")
    for moment in ("live", "reloaded"):
        await expect(steps, moment).to_have_text(LISTED)
        skipped = steps.and_(page.locator('[data-step="plugin_notifications"]'))
        await expect(skipped, moment).to_have_class("step-skipped")
        await expect(steps.and_(page.locator('[data-step="plugin_terms"]'))).to_have_class(
            "step-done"
        )
        await expect(page.locator("#progress-label")).to_have_text("Step 5 of 5")
        await shoot(page, artifacts, f"progress-skipped-{moment}")
        await page.reload()
        await step_shown(page, "plugin_finish")
