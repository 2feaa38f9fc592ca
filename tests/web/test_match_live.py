"""Match pages update by themselves: the real server pushes a match's panel to its room, the
bracket to the tournament's room, and the panel of the match a winner moved into."""

from __future__ import annotations

import re

import pytest
import websocket

from app.models import Status, Visibility
from app.realtime import fragments
from app.realtime.feed import Event
from app.services import brackets, matches
from app.services import match_control as control
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import play, row
from tests.integration.test_registrations import do
from tests.web.test_realtime import (
    TIMEOUT,
    close_code,
    connect,
    receive_until,
    session_cookie,
    socket_url,
)


@pytest.fixture
def cup(make_tournament):
    return make_tournament("live-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)


@pytest.fixture
def bracket(cup, make_field, organizer):
    make_field(cup, 4)
    made = generate(organizer, cup)
    do(lambda: brackets.finalize(organizer, cup, made.version))
    return made






def test_a_confirmed_result_reaches_the_match_the_next_match_and_the_bracket(
        live_server, cup, bracket):
    semi, final = row(bracket, 0), row(bracket, 2)
    match_ws, _ = connect(live_server, f"match:{semi.id}")
    next_ws, _ = connect(live_server, f"match:{final.id}")
    bracket_ws, _ = connect(live_server, f"bracket:{cup.id}")
    try:
        play(semi)
        winner = matches.registrations_of(semi)[0].name
        completed = receive_until(match_ws, lambda m: "match-panel--completed" in m)
        assert f'id="match-{semi.id}"' in completed and 'hx-swap-oob="outerHTML"' in completed
        assert winner in completed and "Winner" in completed
        arrived = receive_until(next_ws, lambda m: winner in m)
        assert f'id="match-{final.id}"' in arrived
        # Only the card that changed (and the standings), not the whole bracket: the card
        # carries its own swap. (The finalize event may reach the socket late, drawn from
        # the state after the result, so a whole region may come too: it is not the push.)
        card = re.compile(rf'id="match-{bracket.id}-0"[^>]*hx-swap-oob')
        drawn = receive_until(bracket_ws, lambda m: card.search(m) is not None
                              and "match__slot--won" in m)
        assert winner in drawn
    finally:
        for ws in (match_ws, next_ws, bracket_ws):
            ws.close()


def test_the_panel_pushed_never_holds_the_lobby_or_viewer_forms(app, cup, bracket, organizer):
    semi = row(bracket, 0)
    do(lambda: control.set_details(organizer, semi, semi.version, coordinator_id=None,
                                   lobby={"room_code": "SECRET-ROOM"}, stream_url=None))
    event = Event(1, "match_updated", cup.id, {"match_id": semi.id})
    with fragments.render_context(app):
        pushed = fragments.render(event)
    assert set(pushed) == {f"match:{semi.id}", f"bracket:{cup.id}", f"tournament:{cup.id}",
                           f"matches:{cup.id}"}
    assert "SECRET-ROOM" not in "".join(pushed.values())
    assert "<form" not in pushed[f"match:{semi.id}"]
    follow = Event(2, "match_updated", cup.id, {"match_id": semi.id, "follow": True})
    with fragments.render_context(app):
        followed = fragments.render(follow)
    assert set(followed) == {f"match:{semi.id}", f"bracket:{cup.id}"}
    assert "bracket-standings" not in followed[f"bracket:{cup.id}"]  # its card alone
    with fragments.render_context(app):
        only = fragments.render(event, wanted=lambda room: room.startswith("match:"))
    assert set(only) == {f"match:{semi.id}"}  # the bracket is not drawn for nobody


def test_a_private_tournament_match_room_admits_its_staff_only(
        app, live_server, make_tournament, make_field, organizer):
    private = make_tournament("hidden-cup", status=Status.LIVE, visibility=Visibility.PRIVATE)
    make_field(private, 2)
    made = generate(organizer, private)
    do(lambda: brackets.finalize(organizer, private, made.version))
    match = row(made, 0)
    anonymous = websocket.create_connection(socket_url(live_server, f"match:{match.id}"),
                                            timeout=TIMEOUT)
    assert close_code(anonymous) == 1008
    staff, first = connect(live_server, f"match:{match.id}",
                           cookie=session_cookie(app, organizer))
    try:
        assert first.startswith("<template data-live-seq=")
    finally:
        staff.close()
