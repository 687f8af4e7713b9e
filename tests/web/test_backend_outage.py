"""The server's storage (Redis) goes away and comes back while the shell is open.

The header says so in plain words, a page loaded meanwhile says so instead of
showing the server's internals, and once the server has its storage back the
shell goes on by itself.  The Redis keeps its data across the restart, as a
production one should.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.redis_server import RedisServer
from tests.server import ServerProcess
from tests.web.steps import open_shell, shoot, step_shown

UNAVAILABLE = "Connected; the server's storage is unavailable, waiting for it"
STORAGE_AWAY = (
    "Nothing was saved: the server cannot reach its storage right now. Try again once it is back."
)
# The server notices Redis is back on its own schedule (it reconnects with a backoff).
BACK_WITHIN_MS = 20_000


@pytest.fixture
def server(
    durable_redis: RedisServer, repo_root: Path, key_prefix: str, tmp_path: Path
) -> Iterator[ServerProcess]:
    """``workflow serve`` on the repository's plan and the durable Redis."""
    args = ("--redis-url", durable_redis.url, "--key-prefix", key_prefix)
    process = ServerProcess(
        repo_root / "execution_plan.toml", args=args, log=tmp_path / "serve.log"
    )
    process.start()
    yield process
    process.stop()


async def test_storage_outage_is_told_plainly_and_the_shell_goes_on_when_it_is_back(
    durable_redis: RedisServer, server: ServerProcess, page: Page, artifacts: Path
) -> None:
    badge = page.locator("#connection-status")
    body = page.locator("body")
    await open_shell(page, server.url)
    await step_shown(page, "plugin_welcome")
    await expect(badge).to_have_text("Connected")

    await asyncio.to_thread(durable_redis.stop)
    await expect(badge).to_have_text(UNAVAILABLE)
    await expect(body).to_have_attribute("data-backend", "unavailable")
    await expect(badge).to_have_attribute("title", re.compile(re.escape(durable_redis.url)))
    await step_shown(page, "plugin_welcome")  # the step on screen stays
    await page.get_by_role("button", name="Start").click()  # refused: nothing can be stored
    await expect(page.locator("#welcome-message")).to_have_text(STORAGE_AWAY)
    await expect(page.locator("#welcome-start")).to_be_enabled()
    await expect(page.locator("#shell-notice")).to_be_hidden()
    await shoot(page, artifacts, "outage-1-storage-lost")

    await page.reload()  # loaded during the outage: plain words, the internals kept aside
    unavailable = page.locator('#step-container[data-view="unavailable"]')
    await expect(unavailable).to_be_visible()
    await expect(unavailable.locator("h2")).to_have_text(
        "The server cannot reach its storage right now"
    )
    await expect(unavailable.locator(".technical-detail")).to_be_hidden()
    shown = await unavailable.inner_text()
    assert "redis" not in shown.lower() and "Error 111" not in shown, shown
    await expect(badge).to_have_text(UNAVAILABLE)
    await shoot(page, artifacts, "outage-2-loaded-meanwhile")
    await unavailable.get_by_text("Technical details").click()
    await expect(unavailable.locator(".technical-detail")).to_contain_text(durable_redis.url)
    await shoot(page, artifacts, "outage-3-technical-details")

    await asyncio.to_thread(durable_redis.start)
    # by itself, with no click on "Try again"
    await step_shown(page, "plugin_welcome", timeout=BACK_WITHIN_MS)
    await expect(badge).to_have_text("Connected")
    await expect(body).to_have_attribute("data-backend", "available")
    await shoot(page, artifacts, "outage-4-storage-back")

    await page.get_by_role("button", name="Start").click()
    await step_shown(page, "plugin_terms")
