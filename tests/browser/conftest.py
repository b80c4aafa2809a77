"""Real headless Chromium (Debian's, through Playwright) on a phone-sized screen, against the app
on a real port. No browser is downloaded: scripts/ensure-chromium.sh installs Debian's package."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"  # another binary: CHROMIUM=…
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium, live_server) -> Iterator[Callable[..., Page]]:
    """Open a page on a 360 px phone, with or without JavaScript; relative URLs go to the app.
    Closed before the live server stops, so no poll is left talking to a dead socket."""
    contexts: list[BrowserContext] = []

    def open_page(javascript: bool = True, locale: str = "id-ID") -> Page:
        context = chromium.new_context(
            base_url=live_server,
            viewport=PHONE,
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            java_script_enabled=javascript,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def desktop(chromium, live_server) -> Iterator[Page]:
    """A laptop-sized page for the merchant portal, allowed to use the clipboard."""
    context = chromium.new_context(base_url=live_server, viewport=DESKTOP, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def screenshot(page: Page, state: str) -> Path:
    """Keep a phone-width picture of a state (test-artifacts/screenshots/<state>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{state}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
