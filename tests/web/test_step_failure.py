"""A server-side step fails: the shell says which and why, and retries it on request."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, Route, expect

from tests.server import ServerProcess
from tests.web.steps import open_shell, shoot, step_shown, walk_welcome_and_terms

REASON = "LookupError: no Device is registered; register one, then retry this step"
RUNNING = "run 'default': the step 'plugin_verify' is running"


async def refuse_retry(route: Route) -> None:
    await route.fulfill(status=409, json={"status_code": 409, "detail": RUNNING})


async def test_failed_step_shows_its_reason_and_try_again_moves_on(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    failed = page.locator('#step-container[data-view="failed"][data-state="plugin_verify"]')
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)

    async with httpx.AsyncClient(base_url=server.url) as client:
        completion = {"topic": "DeviceCompleted", "status": "completed"}
        response = await client.post("/api/workflow/runs/default/events", json=completion)
        assert response.status_code == 200

        await expect(failed).to_be_visible()
        await expect(page.locator("#step-failed")).to_contain_text("Verify")
        await expect(page.locator("#step-failed-reason")).to_have_text(REASON)
        await expect(page.locator("#step-working")).to_have_count(0)
        await shoot(page, artifacts, "failure-1-failed")

        await page.reload()  # the run's history still says the step failed
        await expect(failed).to_be_visible()
        await expect(page.locator("#step-failed-reason")).to_have_text(REASON)

        await page.route("**/api/workflow/runs/default/retry", refuse_retry)
        await page.locator("#step-failed-retry").click()
        await expect(page.locator("#step-failed-message")).to_contain_text(RUNNING)
        await expect(page.locator("#step-failed-retry")).to_be_enabled()
        await shoot(page, artifacts, "failure-2-retry-refused")
        await page.unroute("**/api/workflow/runs/default/retry")

        device = {"field1": "hub", "field2": True}
        assert (await client.post("/api/provision/device", json=device)).status_code == 201
        await page.locator("#step-failed-retry").click()
        await step_shown(page, "plugin_notifications")
        await shoot(page, artifacts, "failure-3-retried")

        await page.get_by_role("button", name="Skip for now").click()
        await step_shown(page, "plugin_finish")
        # the failed try is no step taken: the summary names each step once
        await expect(page.locator("#finish-summary li")).to_have_text(
            [
                "Welcome: completed",
                "Terms: completed",
                "Provisioning: completed",
                "Verify: completed",
                "Notifications: skipped",
            ]
        )

        history = (await client.get("/api/workflow")).json()["history"]
    assert [(h["event"], h["status"], h.get("error")) for h in history[-4:]] == [
        ("DeviceCompleted", "completed", None),
        ("StepFailed", "failed", REASON),
        ("VerifyCompleted", "completed", None),
        ("NotificationsCompleted", "skipped", None),
    ]


async def test_inspector_history_says_why_a_step_failed(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        for topic in ("WelcomeCompleted", "TermsCompleted", "DeviceCompleted"):
            completion = {"topic": topic, "status": "completed", "data": {"accepted": True}}
            await client.post("/api/workflow/runs/default/events", json=completion)

    await page.goto(server.url + "/inspect")
    table = page.locator("#history-table")
    await expect(table.locator("thead th").last).to_have_text("Error")
    await expect(table.locator("tbody tr").last.locator("td").last).to_have_text(REASON)
    await shoot(page, artifacts, "failure-4-inspector")
