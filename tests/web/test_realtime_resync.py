"""Nothing lost: a spectator whose socket dies, or whose server restarts, while results are
being confirmed ends with the same live regions as a fresh page load; a gap older than the
outbox keeps is filled with a snapshot of the room.

The spectator is simulated without a browser: it keeps the page's regions by id and
applies every pushed hx-swap-oob fragment to them, as htmx does.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from datetime import timedelta

import pytest
import websocket

from app.extensions import db
from app.models import OutboxEvent, Status, Visibility, utcnow
from app.realtime import feed
from app.realtime.feed import current_sequence
from tests.conftest import LiveServer, start_server
from tests.integration.test_matches import play, playable, start_bracket
from tests.web.test_realtime import TIMEOUT, room_of, seq_of, socket_url

SETTLE = 15.0  # seconds the page may take to catch up after the last result


def element(html: str, dom_id: str) -> str | None:
    """The outer HTML of the element with id `dom_id`, normalized; None when absent."""
    found = span(html, dom_id)
    if found is None:
        return None
    outer = re.sub(r"\s+", " ", html[found[0]:found[1]]).replace(' hx-swap-oob="outerHTML"', "")
    return outer.replace(" >", ">").strip()


def span(html: str, dom_id: str) -> tuple[int, int] | None:
    """Where the element with id `dom_id` starts and ends in `html`; None when absent."""
    start = re.search(rf'<([a-zA-Z][\w-]*)\b[^>]*\bid="{re.escape(dom_id)}"', html)
    if start is None:
        return None
    tag, depth = start.group(1), 0
    for token in re.finditer(rf"<(/?){tag}\b[^>]*>", html[start.start():]):
        depth += -1 if token.group(1) else 1
        if depth == 0:
            return start.start(), start.start() + token.end()
    raise AssertionError(f"unbalanced <{tag}> for #{dom_id}")


def fetch(server: LiveServer, path: str) -> str:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


class Spectator:
    """A page's live regions, kept up to date by its socket the way htmx does it."""

    def __init__(self, server: LiveServer, path: str, room: str, ids: tuple[str, ...]) -> None:
        page = fetch(server, path)
        self.path, self.room, self.ids = path, room, ids
        self.regions = {dom_id: element(page, dom_id) for dom_id in ids}
        assert all(self.regions.values()), f"the page lacks one of {ids}"
        self.seq = int(re.search(r'data-live-seq="(\d+)"', page).group(1))
        self.received = 0
        self.ws: websocket.WebSocket | None = None
        self.connect(server)

    def connect(self, server: LiveServer) -> None:
        """(Re)connect with the newest sequence seen, as static/js/app.js does."""
        self.ws = websocket.create_connection(socket_url(server, self.room, since=self.seq),
                                              timeout=TIMEOUT)
        self.apply(self.ws.recv())

    def apply(self, message: str) -> None:
        self.seq = max(self.seq, seq_of(message))
        self.received += 1
        for dom_id in re.findall(r'<[a-zA-Z][\w-]*\b[^>]*\bid="([^"]+)"[^>]*hx-swap-oob', message):
            if dom_id in self.regions:
                self.regions[dom_id] = element(message, dom_id)
                continue
            for region, html in self.regions.items():  # a part inside a region (a card)
                if html and (inside := span(html, dom_id)):
                    self.regions[region] = (html[:inside[0]] + element(message, dom_id)
                                            + html[inside[1]:])

    def drain(self, wait: float = 0.05) -> None:
        """Apply whatever has arrived; returns when the socket is quiet for `wait` s."""
        while True:
            self.ws.settimeout(wait)
            try:
                opcode, frame = self.ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise ConnectionResetError("closed by the server")
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.apply(frame.data.decode())

    def kill(self) -> None:
        """The socket vanishes without a close frame (a phone losing its Wi-Fi)."""
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ws.sock.close()

    def wait_closed(self) -> int:
        """Apply what comes until the server closes the socket; return the close code."""
        while True:
            self.ws.settimeout(TIMEOUT)
            opcode, frame = self.ws.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(frame.data[:2], "big")
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.apply(frame.data.decode())

    def matches_fresh_load(self, server: LiveServer, settle: float = SETTLE) -> None:
        """Poll until the regions equal a fresh load of the page; fail after `settle` s."""
        deadline = time.monotonic() + settle
        while True:
            self.drain()
            fresh = fetch(server, self.path)
            expected = {dom_id: element(fresh, dom_id) for dom_id in self.ids}
            if self.regions == expected:
                return
            if time.monotonic() > deadline:
                assert self.regions == expected


@pytest.fixture
def cup(make_tournament):
    return make_tournament("resync-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)


def play_next(bracket, n: int = 1) -> int:
    """Confirm the results of the next `n` playable matches; return how many there were."""
    done = 0
    while done < n and (todo := playable(bracket)):
        match = todo[0]
        play(match, winner=0 if match.seed_a < match.seed_b else 1)
        done += 1
    return done


def test_a_page_whose_socket_dies_and_whose_server_restarts_mid_stream_loses_nothing(
        settings, cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 8, make_field)
    server = start_server(settings)
    try:
        page = Spectator(server, f"/t/{cup.slug}/bracket", f"bracket:{cup.id}", ("bracket",))
        first = page.regions["bracket"]
        played = play_next(bracket, 2)
        page.drain()

        page.kill()  # the socket dies while a result is confirmed
        played += play_next(bracket)
        page.connect(server)
        page.matches_fresh_load(server)  # no later event can hide a lost one here

        played += play_next(bracket)
        server.process.terminate()  # the server restarts while two more are confirmed
        assert page.wait_closed() == 1012
        server.process.wait(10)
        played += play_next(bracket, 2)
        server = start_server(settings)
        page.connect(server)
        page.matches_fresh_load(server)

        played += play_next(bracket, 7)  # the rest, with the socket up
        assert played == 7  # an 8-entrant single elimination, all of it
        page.matches_fresh_load(server)
        assert page.regions["bracket"] != first and page.received > 3
        db.session.refresh(cup)
        assert cup.status == Status.COMPLETED
    finally:
        server.stop()


def test_a_since_older_than_the_outbox_keeps_gets_a_snapshot_of_the_room(
        settings, live_server, cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    page = Spectator(live_server, f"/t/{cup.slug}/bracket", f"bracket:{cup.id}", ("bracket",))
    page.kill()
    stale = page.seq
    for match in playable(bracket):
        play(match)
    # Two days on, the sweeper prunes everything but the newest event.
    pruned = feed.prune(db.session, utcnow() + timedelta(days=2), 86400, 100_000)
    db.session.commit()
    assert pruned > 0 and db.session.query(OutboxEvent).count() == 1
    assert not feed.replayable(db.session, stale)

    page.connect(live_server)
    assert page.seq == current_sequence(db.session) > stale
    page.matches_fresh_load(live_server, settle=0)  # the first message alone did it


def test_a_snapshot_holds_every_live_region_of_the_room(live_server, cup, make_field,
                                                        organizer):
    start_bracket(organizer, cup, 4, make_field)
    feed.prune(db.session, utcnow() + timedelta(days=2), 86400, 0)
    db.session.commit()
    snapshot, drawn = (_snapshot(live_server, room) for room in (room_of(cup), f"bracket:{cup.id}"))
    assert seq_of(snapshot) == seq_of(drawn) == current_sequence(db.session)
    regions = (f"tournament-{cup.id}-status", f"tournament-{cup.id}-participants",
               f"tournament-{cup.id}-overview")
    tournament_page = fetch(live_server, f"/t/{cup.slug}")
    for dom_id in regions:
        assert element(snapshot, dom_id) == element(tournament_page, dom_id)
    assert 'id="bracket"' not in snapshot  # the tournament page has no bracket
    assert 'id="bracket"' in drawn and not any(f'id="{dom_id}"' in drawn for dom_id in regions)


def _snapshot(server: LiveServer, room: str) -> str:
    ws = websocket.create_connection(socket_url(server, room, since=0), timeout=TIMEOUT)
    try:
        return ws.recv()
    finally:
        ws.close()


def test_a_since_from_another_outbox_history_gets_a_snapshot(live_server, cup):
    ws = websocket.create_connection(
        socket_url(live_server, room_of(cup), since=current_sequence(db.session) + 1000),
        timeout=TIMEOUT)
    restored = ws.recv()
    ws.close()
    assert f'id="tournament-{cup.id}-status"' in restored


def test_sockets_coming_back_together_share_one_rendered_catch_up(app, cup, monkeypatch):
    # After a restart every socket of a room returns with the same `since`: one render.
    from app.realtime import fragments as fragments_module
    from app.realtime.hub import Hub
    from app.realtime.routes import LiveSocket
    from tests.web.test_realtime_limits import change

    since = change(cup, status=Status.CHECK_IN)
    change(cup, status=Status.LIVE)
    renders = []
    real_render = fragments_module.render
    monkeypatch.setattr(fragments_module, "render",
                        lambda *args, **kw: renders.append(1) or real_render(*args, **kw))
    hub = Hub(app)
    sockets = [LiveSocket(frozenset({room_of(cup)}), frozenset({cup.id}), limit=10)
               for _ in range(50)]
    first = {hub.catch_up(socket, since) for socket in sockets}
    assert len(first) == 1 and "badge--live" in first.pop()
    assert len(renders) == 1
    hub._catch_up.invalidate()  # the hub dispatched an event: render afresh
    hub.catch_up(sockets[0], since)
    assert len(renders) == 2


def test_a_busy_gap_draws_the_bracket_once_however_many_results_it_holds(
        app, cup, make_field, organizer):
    # Every match event redraws the bracket region: replaying them one by one would send
    # it once per event (megabytes for a big bracket). The gap's regions are drawn once.
    from app.realtime.hub import Hub
    from app.realtime.routes import LiveSocket

    bracket, _ = start_bracket(organizer, cup, 8, make_field)
    since = current_sequence(db.session)
    play_next(bracket, 3)  # 3 x (2 check-ins, a report, a confirmation): a dozen events
    db.session.commit()
    room = LiveSocket(frozenset({f"bracket:{cup.id}"}), frozenset({cup.id}), limit=10)
    first = Hub(app).catch_up(room, since)
    assert first.count('<section id="bracket"') == 1
    assert seq_of(first) == current_sequence(db.session)
    assert first.count("match__slot--won") == 3
