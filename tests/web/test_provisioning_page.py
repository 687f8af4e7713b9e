"""The provisioning page: a blank name is refused at once, and a reload keeps the device."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.server import ServerProcess
from tests.web.steps import open_shell, shoot, step_shown, walk_welcome_and_terms


async def list_devices(server: ServerProcess) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        devices: list[dict[str, object]] = (await client.get("/api/provision/device")).json()
    return devices


async def test_blank_device_name_is_refused_before_anything_is_sent(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)

    for name in ("", "   "):
        await page.locator("#device-name").fill(name)
        await page.get_by_role("button", name="Register device").click()
        await expect(page.locator("#device-message")).to_have_text(
            "Enter a name for the device (spaces alone are not a name)."
        )
    await expect(page.locator("#device-continue")).to_be_disabled()
    await shoot(page, artifacts, "provision-1-blank-name")
    assert await list_devices(server) == []


async def test_registered_device_survives_a_reload_and_continue_moves_on(
    server: ServerProcess, page: Page, artifacts: Path
) -> None:
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)
    await page.locator("#device-name").fill("hallway-hub")
    await page.get_by_role("button", name="Register device").click()
    await expect(page.locator("#device-record-name")).to_have_text("hallway-hub")

    await page.reload()
    await step_shown(page, "plugin_provisioning")
    await expect(page.locator("#device-record-name")).to_have_text("hallway-hub")
    await expect(page.locator("#device-record-managed")).to_have_text("no")
    await expect(page.locator("#device-none")).to_be_hidden()
    await expect(page.locator("#device-continue")).to_be_enabled()
    await shoot(page, artifacts, "provision-2-after-reload")
    await page.locator("#device-continue").click()

    await step_shown(page, "plugin_notifications")
    assert [(d["field1"], d["field2"]) for d in await list_devices(server)] == [
        ("hallway-hub", False)
    ]


async def test_device_deleted_meanwhile_is_forgotten_on_reload(
    server: ServerProcess, page: Page
) -> None:
    await open_shell(page, server.url)
    await walk_welcome_and_terms(page)
    await page.locator("#device-name").fill("old-phone")
    await page.get_by_role("button", name="Register device").click()
    await expect(page.locator("#device-record-name")).to_have_text("old-phone")
    device_id = await page.locator("#device-record-id").text_content()

    await page.goto("about:blank")  # away, so the deletion is noticed on the next load
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.delete(f"/api/provision/device/{device_id}")
        assert response.status_code == 200

    await open_shell(page, server.url)
    await step_shown(page, "plugin_provisioning")
    await expect(page.locator("#device-message")).to_contain_text("register it again")
    await expect(page.locator("#device-none")).to_be_visible()
    await expect(page.locator("#device-continue")).to_be_disabled()
    remembered = "localStorage.getItem('plugin_provisioning:device:default')"
    assert await page.evaluate(remembered) is None
