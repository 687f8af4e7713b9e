"""What the browser tests do and check on the shell again and again."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

__all__ = ["open_shell", "shoot", "step_shown", "walk_welcome_and_terms"]


async def step_shown(page: Page, state: str, *, timeout: float | None = None) -> None:
    """Wait until the shell shows the page of ``state`` (at most ``timeout`` ms, if given)."""
    container = page.locator(f'#step-container[data-state="{state}"][data-view="step"]')
    await expect(container).to_be_visible(timeout=timeout)


async def shoot(page: Page, artifacts: Path, name: str) -> None:
    """Leave a full-page screenshot ``<name>.png`` among the artifacts."""
    await page.screenshot(path=artifacts / f"{name}.png", full_page=True)


async def open_shell(page: Page, url: str) -> None:
    """Load the shell and wait until it is connected."""
    await page.goto(url + "/")
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")


async def walk_welcome_and_terms(page: Page) -> None:
    """Click through Welcome and Terms, up to the provisioning page."""
    await step_shown(page, "plugin_welcome")
    await page.get_by_role("button", name="Start").click()
    await step_shown(page, "plugin_terms")
    await page.locator("#terms-accept").check()
    await page.locator("#terms-continue").click()
    await step_shown(page, "plugin_provisioning")
