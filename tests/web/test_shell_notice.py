"""The shell's notice: refusals that only say the run moved on are no error, others show."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.server import ServerProcess
from tests.web.steps import open_shell, shoot, step_shown, walk_welcome_and_terms

# Resolves with the next ProtocolError this tab hears, after the shell has handled it.
NEXT_REFUSAL = """([plugin, topic, payload]) => new Promise((resolve) => {
  window.appManager.subscribe("test", "ProtocolError", resolve);
  window.appManager.publish(plugin, topic, payload);
})"""


async def test_second_tab_continuing_late_follows_the_run_without_an_error(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    other = await page.context.new_page()
    for tab in (page, other):
        await open_shell(tab, server.url)
    await page.get_by_role("button", name="Start").click()
    for tab in (page, other):
        await step_shown(tab, "plugin_terms")
        await tab.locator("#terms-accept").check()

    # Both at once, as a person in each tab would: one completes the step, the other is late.
    click = "document.querySelector('#terms-continue')?.click()"
    await asyncio.gather(page.evaluate(click), other.evaluate(click))
    late = ["plugin_terms", "TermsCompleted", {"status": "completed"}]
    refusal = await other.evaluate(NEXT_REFUSAL, late)

    assert "is in state" in refusal
    for tab in (page, other):
        await step_shown(tab, "plugin_provisioning")
        await expect(tab.locator("#shell-notice")).to_be_hidden()
    await expect(other.locator("#device-message")).not_to_have_class("message message-error")
    await shoot(other, artifacts, "notice-1-second-tab")


async def test_other_refusal_shows_until_the_step_changes(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)

    await page.evaluate(NEXT_REFUSAL, ["plugin_provisioning", "DeviceCompleted", "not json"])
    notice = page.locator("#shell-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("The server refused a message")
    await shoot(page, artifacts, "notice-2-refused")

    async with httpx.AsyncClient(base_url=server.url) as client:
        completion = {"topic": "DeviceCompleted", "status": "skipped"}
        await client.post("/api/workflow/runs/default/events", json=completion)
    await step_shown(page, "plugin_notifications")
    await expect(notice).to_be_hidden()
