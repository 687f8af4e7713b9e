"""Fixtures for browser tests: a real server and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.server import ServerProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium (never a downloaded browser), headless."""
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("the browser tests need chromium on PATH (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
def server(repo_root: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    """``workflow serve`` on the repository's plan and the memory backend."""
    process = ServerProcess(repo_root / "execution_plan.toml", log=tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser page with its own storage."""
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where the browser tests leave their screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
