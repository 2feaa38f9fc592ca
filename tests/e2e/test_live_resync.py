"""A real Chromium on a spectator page while its server restarts: htmx reconnects after the
1012 close, static/js/app.js asks for what came after the last sequence it saw, and the page
shows the result confirmed while the server was down, without a reload."""

from __future__ import annotations

import signal

import pytest
from playwright.sync_api import expect

from app.models import Status, Visibility
from tests.conftest import free_port, start_server
from tests.integration.test_matches import play, playable, start_bracket

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

# Counts the page's socket openings (registered before any page script runs).
COUNT_OPENINGS = """
window.liveOpenings = 0;
document.addEventListener("htmx:ws:after:connection", () => { window.liveOpenings += 1; });
"""


def test_a_spectator_page_comes_back_after_a_restart_with_what_it_missed(
        browser, settings, make_tournament, make_field, organizer):
    cup = make_tournament("restart-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    port = free_port()
    server = start_server(settings, port=port)
    context = browser.new_context(base_url=server.url, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        context.add_init_script(COUNT_OPENINGS)
        page = context.new_page()
        page.goto(f"/t/{cup.slug}/bracket")
        page.wait_for_function("window.liveOpenings === 1")
        won = page.locator("#bracket .match__slot--won")
        first, second = playable(bracket)[:2]

        play(first)
        expect(won).to_have_count(1)

        # A quick restart (SIGINT): workers still close their sockets with 1012 first, so
        # the page comes back, but do not wait for idle keep-alive connections to end.
        server.process.send_signal(signal.SIGINT)
        server.process.wait(15)
        expect(page.locator("#live-status")).to_be_visible()
        play(second)  # confirmed while the page has no socket
        server = start_server(settings, port=port)

        page.wait_for_function("window.liveOpenings === 2", timeout=30_000)
        expect(won).to_have_count(2)
        expect(page.locator("#live-status")).to_be_hidden()
        fresh = context.new_page()
        fresh.goto(f"/t/{cup.slug}/bracket")
        assert page.locator("#bracket").inner_text() == fresh.locator("#bracket").inner_text()
    finally:
        context.close()
        server.stop()
