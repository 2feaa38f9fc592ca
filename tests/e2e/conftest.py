"""A real Chromium (Debian's, driven by Playwright) against the live gunicorn server.

Playwright cannot download its own browsers here: it drives /usr/bin/chromium
(`.ci/run` installs it). Never run `playwright install`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test process."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def make_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """Open pages on the live server, each in a fresh context (no cookies shared)."""
    contexts = []

    def make(**context_options) -> Page:
        # Reduced motion: no highlight animations to paint (they cost the tests CPU).
        options = {"reduced_motion": "reduce", **context_options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page) -> Page:
    """A desktop-sized page on the live server."""
    return make_page()


def log_in(page: Page, username: str) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
