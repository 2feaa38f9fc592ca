"""The spectator regions through the real server: a finished match reaches the overview and
the live list of the tournament's room, and each step of a match reaches its timeline."""

from __future__ import annotations

import pytest

from app.models import Status, Visibility
from app.services import match_control as control
from app.services import matches
from tests.integration.test_matches import play, row, side_user
from tests.integration.test_registrations import do
from tests.web.test_live_pages import region_of
from tests.web.test_realtime import connect, receive_until


@pytest.fixture
def cup(make_tournament):
    return make_tournament("live-socket-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)


@pytest.fixture
def bracket(cup, make_published):
    """A finalized 8-entrant single elimination."""
    return make_published(cup, 8)


def test_a_finished_match_reaches_the_overview_and_the_live_list(live_server, cup, bracket):
    first = row(bracket, 0)
    page, _ = connect(live_server, f"tournament:{cup.id}")  # the tournament page's socket
    board, _ = connect(live_server, f"matches:{cup.id}")  # the live list's
    try:
        play(first)
        def finished(message: str) -> str:
            has_list = f'<section id="tournament-{cup.id}-live-matches"' in message
            listed = region_of(message, "live-matches") if has_list else ""
            return listed[listed.index('data-live-group="finished"'):] if listed else ""

        message = receive_until(board, lambda m: f'id="liverow-{first.id}"' in finished(m))
        assert "live-row__side--won" in finished(message)
        overview = receive_until(page, lambda m: "<dd>1 / 7</dd>" in m)
        assert "<dt>Matches played</dt><dd>1 / 7</dd>" in region_of(overview, "overview")
        assert "live-matches" not in overview  # the tournament page has no list
    finally:
        page.close()
        board.close()


def test_every_step_of_a_match_reaches_its_timeline(live_server, cup, bracket):
    first = row(bracket, 0)
    player = side_user(first, 0)
    name = matches.registrations_of(first)[0].name
    ws, _ = connect(live_server, f"match:{first.id}")
    try:
        do(lambda: control.check_in(player, first, first.version))
        message = receive_until(ws, lambda m: f"{name} checked in." in m)
        assert f'id="match-{first.id}-timeline"' in message
        do(lambda: control.check_in(side_user(first, 1), first, first.version))
        play(first)
        done = receive_until(ws, lambda m: "confirmed" in m and "match-panel--completed" in m)
        assert done.count("<li>") >= 4  # both check-ins, the report, the confirmation
    finally:
        ws.close()
