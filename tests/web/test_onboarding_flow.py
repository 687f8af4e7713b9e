"""A person walks the whole onboarding flow in a browser, as the repository's plan lays it out."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.server import ServerProcess
from tests.web.steps import shoot, step_shown


async def test_flow_walked_by_clicking_ends_finished_with_the_device_stored(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await page.goto(server.url + "/")
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")

    await step_shown(page, "plugin_welcome")
    await expect(page.locator("#progress-label")).to_have_text("Step 1 of 5")
    await shoot(page, artifacts, "1-welcome")
    await page.get_by_role("button", name="Start").click()

    await step_shown(page, "plugin_terms")
    await expect(page.locator("#terms-continue")).to_be_disabled()
    await page.locator("#terms-accept").check()
    await shoot(page, artifacts, "2-terms")
    await page.locator("#terms-continue").click()

    await step_shown(page, "plugin_provisioning")
    await page.reload()  # a reload resumes the step the run is in
    await step_shown(page, "plugin_provisioning")
    await expect(page.locator("#progress-label")).to_have_text("Step 3 of 5")
    await page.locator("#device-name").fill("kitchen-sensor")
    await page.locator("#device-managed").check()
    await page.get_by_role("button", name="Register device").click()
    await expect(page.locator("#device-record-name")).to_have_text("kitchen-sensor")
    await expect(page.locator("#device-events li").first).to_contain_text("created")
    await shoot(page, artifacts, "3-provision")
    await page.locator("#device-continue").click()

    await step_shown(page, "plugin_notifications")  # the device check ran on the server meanwhile
    await shoot(page, artifacts, "4-notifications")
    await page.get_by_role("button", name="Skip for now").click()

    await step_shown(page, "plugin_finish")
    await shoot(page, artifacts, "5-finish")
    await page.locator("#finish-button").click()
    await expect(page.locator("#workflow-finished")).to_be_visible()
    await shoot(page, artifacts, "6-finished")

    async with httpx.AsyncClient(base_url=server.url) as client:
        run = (await client.get("/api/workflow")).json()
        devices = (await client.get("/api/provision/device")).json()
    assert run["status"] == "finished"
    assert [(h["event"], h["status"]) for h in run["history"]] == [
        ("WelcomeCompleted", "completed"),
        ("TermsCompleted", "completed"),
        ("DeviceCompleted", "completed"),
        ("VerifyCompleted", "completed"),
        ("NotificationsCompleted", "skipped"),
        ("FinishCompleted", "completed"),
    ]
    assert [(d["field1"], d["field2"]) for d in devices] == [("kitchen-sensor", True)]
