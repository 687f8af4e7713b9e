"""The server's refusals, each shown once.

Refusals that only say the run moved on are no error; a step's own refusal
shows by its page's buttons, in words for a person; others show in the notice.
"""

from __future__ import annotations

import asyncio
import re
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
# Clicks Continue on the terms page even though it is disabled, as a forced click would.
FORCE_CONTINUE = """() => {
  const proceed = document.querySelector("#terms-continue");
  proceed.disabled = false;
  proceed.click();
}"""


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
    await expect(page.locator("#device-message")).to_have_text("")  # shown once, up there
    await shoot(page, artifacts, "notice-2-refused")

    async with httpx.AsyncClient(base_url=server.url) as client:
        completion = {"topic": "DeviceCompleted", "status": "skipped"}
        await client.post("/api/workflow/runs/default/events", json=completion)
    await step_shown(page, "plugin_notifications")
    await expect(notice).to_be_hidden()


async def test_forced_refusal_of_a_step_shows_once_in_a_persons_words(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await open_shell(page, server.url)
    await page.get_by_role("button", name="Start").click()
    await step_shown(page, "plugin_terms")

    # Continue without accepting, forced past the disabled button.
    await page.evaluate(FORCE_CONTINUE)
    message = page.locator("#terms-message")
    await expect(message).to_have_text("Accept the terms to continue.")
    await expect(message).to_have_class(re.compile("message-error"))
    await expect(message).to_have_attribute("title", re.compile("plugin_terms refuses 'completed'"))
    await expect(page.locator("#shell-notice")).to_be_hidden()
    shown = await page.locator("body").inner_text()
    assert shown.count("ccept the terms to continue") == 1, shown
    assert "TermsCompleted" not in shown and "plugin_terms" not in shown, shown
    await expect(page.locator("#terms-continue")).to_be_disabled()  # still not accepted
    await shoot(page, artifacts, "notice-3-step-refused")

    skip = ["plugin_terms", "TermsCompleted", {"status": "skipped"}]
    await page.evaluate(NEXT_REFUSAL, skip)
    await expect(message).to_have_text("The terms cannot be skipped; accept them to continue.")
    await expect(page.locator("#shell-notice")).to_be_hidden()

    await page.locator("#terms-accept").check()
    await page.locator("#terms-continue").click()
    await step_shown(page, "plugin_provisioning")


async def test_page_without_the_token_says_it_can_only_watch(
    repo_root: Path, tmp_path: Path, page: Page, artifacts: Path
) -> None:
    token = "s3cret-token"
    server = ServerProcess(repo_root / "execution_plan.toml", args=("--access-token", token),
                           log=tmp_path / "server.log")
    server.start()
    try:
        await open_shell(page, server.url)  # no ?token= in the address
        await step_shown(page, "plugin_welcome")
        await page.get_by_role("button", name="Start").click()
        await expect(page.locator("#welcome-message")).to_contain_text("can only watch")
        refused = await page.locator("#welcome-message").text_content()
        notice_hidden = await page.locator("#shell-notice").is_hidden()

        async with httpx.AsyncClient(base_url=server.url) as client:  # another, with the token
            bearer = {"authorization": f"Bearer {token}"}
            for topic, data in (("WelcomeCompleted", None), ("TermsCompleted", {"accepted": True})):
                body = {"topic": topic, "status": "completed", "data": data}
                sent = await client.post("/api/workflow/runs/default/events", json=body,
                                         headers=bearer)
                assert sent.status_code == 200
        await step_shown(page, "plugin_provisioning")
        await page.locator("#device-name").fill("router")
        await page.locator("#device-register").click()
        await expect(page.locator("#device-message")).to_contain_text("can only watch")
        await shoot(page, artifacts, "notice-4-no-token")
    finally:
        server.stop()

    assert refused is not None and "?token=" in refused
    assert "publish-json" not in refused
    assert notice_hidden
