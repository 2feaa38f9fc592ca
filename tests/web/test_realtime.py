"""Live updates through the real server: a real WebSocket client, events from other processes.

Each server here is gunicorn with gevent workers on the shared test database.
Sockets are read with short timeouts, so a missing fragment fails fast.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import websocket
from flask import render_template_string
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEvent, Status, Visibility
from app.realtime import events
from app.realtime.feed import current_sequence
from app.realtime.subscriber import SERVICE_RESTART, Subscriber
from tests.conftest import ROOT, LiveServer, free_port, login, start_server

# How events reach a hub in another process: the poll always; Redis pub/sub when the suite
# has a Redis (the PostgreSQL + Redis pass).
WAKE_PATHS = ["poll", *(["redis"] if os.environ.get("TEST_REDIS_URL") else [])]
TIMEOUT = 5.0

COMMIT_ELSEWHERE = """
import sys
from app import create_app
from app.database import write_intent
from app.extensions import db
from app.models import Status, Tournament
from app.realtime import events

database_url, redis_url, tournament_id, status = sys.argv[1:]
app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": database_url,
                  "REDIS_URL": redis_url or None})
with app.app_context(), write_intent():
    tournament = db.session.get(Tournament, int(tournament_id))
    tournament.status = Status(status)
    events.record("tournament_updated", tournament_id=tournament.id)
    db.session.commit()
"""


# --- helpers --------------------------------------------------------------------------


def socket_url(server: LiveServer, *rooms: str, since: int | None = None) -> str:
    query = "&".join(f"room={room}" for room in rooms)
    if since is not None:
        query += f"&since={since}"
    return server.url.replace("http://", "ws://") + "/ws?" + query


def connect(server: LiveServer, *rooms: str, since: int | None = None,
            **options) -> tuple[websocket.WebSocket, str]:
    """Open a socket and read the server's first message (sent once it is subscribed)."""
    ws = websocket.create_connection(socket_url(server, *rooms, since=since),
                                     timeout=TIMEOUT, **options)
    return ws, ws.recv()


def seq_of(message: str) -> int:
    match = re.match(r'<template data-live-seq="(\d+)"></template>', message)
    assert match, f"message without a sequence marker: {message[:80]!r}"
    return int(match.group(1))


def receive_until(ws: websocket.WebSocket, wanted: Callable[[str], bool],
                  timeout: float = TIMEOUT) -> str:
    """The first message `wanted` accepts; fails when none comes within `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ws.settimeout(left)
        try:
            message = ws.recv()
        except websocket.WebSocketTimeoutException:
            break
        if wanted(message):
            return message
    raise AssertionError(f"no matching message within {timeout} s")


def close_code(ws: websocket.WebSocket) -> int:
    """Read until the server closes the socket; return its close code."""
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0]


def commit_elsewhere(settings: dict, tournament_id: int, status: Status,
                     redis_url: str | None = None) -> None:
    """Change a tournament's status and record its event in a separate Python process."""
    env = {**os.environ, "SECRET_KEY": settings["SECRET_KEY"],
           "INSTANCE_DIR": settings["INSTANCE_DIR"], "BRACKETEER_ENV": "test"}
    redis_url = settings["REDIS_URL"] if redis_url is None else redis_url
    subprocess.run(
        [sys.executable, "-c", COMMIT_ELSEWHERE, settings["SQLALCHEMY_DATABASE_URI"],
         redis_url or "", str(tournament_id), status.value],
        cwd=ROOT, env=env, check=True, timeout=60,
    )


def session_cookie(app, user) -> str:
    """A signed session cookie that logs `user` in on a live server (same SECRET_KEY)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return "session=" + serializer.dumps({"_user_id": user.get_id(), "_fresh": True})


def room_of(tournament) -> str:
    return f"tournament:{tournament.id}"


@pytest.fixture(scope="module")
def _servers(settings) -> Iterator[dict[str, LiveServer]]:
    started: dict[str, LiveServer] = {}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def server_for(settings, live_server, _servers) -> Callable[[str], LiveServer]:
    """A server whose hub is woken only by the given path (within the test's timeouts)."""

    def get(wake: str) -> LiveServer:
        if wake == "poll" and not live_server.env["REDIS_URL"]:
            return live_server
        if wake not in _servers:
            # With Redis, a 60 s safety poll: a fragment within seconds came through pub/sub.
            extra = {"OUTBOX_SAFETY_POLL_SECONDS": "60"}
            _servers[wake] = start_server(settings, redis=wake == "redis", extra_env=extra)
        return _servers[wake]

    return get


# --- delivery -------------------------------------------------------------------------


@pytest.mark.parametrize("wake", WAKE_PATHS)
def test_event_committed_by_another_process_reaches_every_socket_of_the_room(
        wake, server_for, settings, make_tournament):
    server = server_for(wake)
    tournament = make_tournament("live-cup")
    seq = current_sequence(db.session)
    first, hello = connect(server, room_of(tournament), since=seq)
    second, _ = connect(server, room_of(tournament), since=seq)
    assert seq_of(hello) == seq

    commit_elsewhere(settings, tournament.id, Status.CHECK_IN)
    committed = time.monotonic()

    message = receive_until(first, lambda m: "badge--check_in" in m)
    assert time.monotonic() - committed < 3
    assert seq_of(message) > seq
    assert f'id="tournament-{tournament.id}-status"' in message
    assert 'hx-swap-oob="outerHTML"' in message and "Live Cup" in message
    assert receive_until(second, lambda m: "badge--check_in" in m) == message
    first.close()
    second.close()


def test_socket_without_since_learns_the_current_sequence(live_server, tournament):
    events.record("tournament_updated", tournament_id=tournament.id)
    db.session.commit()
    ws, hello = connect(live_server, room_of(tournament))
    assert seq_of(hello) == current_sequence(db.session)
    assert "tournament-" not in hello  # nothing replayed without `since`
    ws.close()


def test_reconnecting_with_since_replays_what_was_missed(live_server, tournament):
    ws, hello = connect(live_server, room_of(tournament), since=current_sequence(db.session))
    last_seen = seq_of(hello)
    ws.close()

    tournament.status = Status.LIVE  # happens while the page is disconnected
    events.record("tournament_updated", tournament_id=tournament.id)
    db.session.commit()

    ws, replay = connect(live_server, room_of(tournament), since=last_seen)
    assert seq_of(replay) == current_sequence(db.session) > last_seen
    assert "badge--live" in replay and 'hx-swap-oob="outerHTML"' in replay
    ws.close()


def test_replay_renders_each_element_once_in_its_current_state(live_server, tournament):
    since = current_sequence(db.session)
    for status in (Status.CHECK_IN, Status.LIVE):
        tournament.status = status
        events.record("tournament_updated", tournament_id=tournament.id)
        db.session.commit()
    ws, replay = connect(live_server, room_of(tournament), since=since)
    assert replay.count(f'id="tournament-{tournament.id}-status"') == 1
    assert "badge--live" in replay and "badge--check_in" not in replay
    ws.close()


# --- who may connect ------------------------------------------------------------------


def test_private_tournament_room_refuses_an_anonymous_socket(live_server, make_tournament):
    private = make_tournament("secret-cup", visibility=Visibility.PRIVATE)
    ws = websocket.create_connection(socket_url(live_server, room_of(private), since=0),
                                     timeout=TIMEOUT)
    assert close_code(ws) == 1008


def test_private_tournament_room_admits_its_staff(app, live_server, make_tournament,
                                                  organizer):
    private = make_tournament("secret-cup", visibility=Visibility.PRIVATE)
    ws, hello = connect(live_server, room_of(private), since=0,
                        cookie=session_cookie(app, organizer))
    assert seq_of(hello) == 0
    ws.close()


@pytest.mark.parametrize("rooms", [("tournament:999999",), ("match:1",), ("lobby",), ()])
def test_unknown_room_is_refused(live_server, tournament, rooms):
    ws = websocket.create_connection(socket_url(live_server, *rooms, since=0), timeout=TIMEOUT)
    assert close_code(ws) == 1008


def test_cross_site_handshake_is_refused_before_the_upgrade(live_server, tournament):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(socket_url(live_server, room_of(tournament)),
                                    timeout=TIMEOUT, origin="https://evil.example")
    assert refused.value.status_code == 403


def test_same_site_handshake_is_accepted_under_either_loopback_name(live_server, tournament):
    port = live_server.url.rsplit(":", 1)[1]
    for origin in (live_server.url, f"http://localhost:{port}"):
        ws, hello = connect(live_server, room_of(tournament), origin=origin)
        assert seq_of(hello) >= 0
        ws.close()


# --- serving --------------------------------------------------------------------------


def test_server_does_not_negotiate_permessage_deflate(live_server, tournament):
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
    ws, hello = connect(live_server, room_of(tournament), header=[offer])
    assert ws.getstatus() == 101
    assert "sec-websocket-extensions" not in {k.lower() for k in ws.getheaders()}
    assert hello.startswith("<template data-live-seq=")  # readable without inflating
    ws.close()


def test_server_shutdown_asks_sockets_to_come_back(settings, tournament):
    server = start_server(settings, redis=False)
    try:
        ws, _ = connect(server, room_of(tournament), since=0)
        server.process.terminate()
        assert close_code(ws) == SERVICE_RESTART
    finally:
        server.stop()


def test_slow_socket_is_asked_to_reconnect_instead_of_queueing_without_bound():
    subscriber = Subscriber(frozenset({"tournament:1"}), frozenset({1}), limit=2)
    assert subscriber.offer("a") and subscriber.offer("b")
    assert not subscriber.offer("c")
    assert subscriber.close_code == SERVICE_RESTART
    assert subscriber.take() == ["a", "b"]
    assert not subscriber.offer("d")  # closing: nothing more is queued


# --- Redis outage ---------------------------------------------------------------------


def test_request_that_records_an_event_succeeds_while_redis_is_unreachable(
        app, client, organizer, tournament, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    login(client, organizer)
    started = time.monotonic()
    for expected, target in ((Status.REGISTRATION, Status.CHECK_IN),
                             (Status.CHECK_IN, Status.LIVE)):
        response = client.post(f"/manage/t/{tournament.slug}/status",
                               data={"expected": expected.value, "target": target.value})
        assert response.status_code == 302
    assert time.monotonic() - started < 2
    db.session.refresh(tournament)
    assert tournament.status == Status.LIVE
    assert len(db.session.scalars(select(OutboxEvent)).all()) == 2


def test_events_still_reach_sockets_while_redis_is_unreachable(settings, make_tournament):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = start_server(settings, extra_env={"REDIS_URL": dead_redis})
    try:
        tournament = make_tournament("outage-cup")
        ws, hello = connect(server, room_of(tournament), since=current_sequence(db.session))
        commit_elsewhere(settings, tournament.id, Status.CHECK_IN, redis_url=dead_redis)
        message = receive_until(ws, lambda m: "badge--check_in" in m)
        assert seq_of(message) > seq_of(hello)
        ws.close()
    finally:
        server.stop()


# --- the page side --------------------------------------------------------------------


def test_live_socket_macro_connects_to_the_room_from_the_page_sequence(app):
    with app.test_request_context():
        html = render_template_string(
            '{% from "partials/live.html" import live_socket %}'
            '{{ live_socket("tournament:5", 42) }}')
    assert 'hx-ws:connect="/ws?room=tournament:5&amp;since=42"' in html
    assert 'data-live-seq="42"' in html and 'hx-swap="none"' in html


def test_status_fragment_owns_its_id_and_swaps_out_of_band_only_when_pushed(app, tournament):
    with app.test_request_context():
        page = render_template_string('{% include "partials/tournament_status.html" %}',
                                      tournament=tournament)
        pushed = render_template_string(
            '{% include "partials/tournament_status.html" %}', tournament=tournament, oob=True)
    assert f'id="tournament-{tournament.id}-status"' in page
    assert "hx-swap-oob" not in page and 'hx-swap-oob="outerHTML"' in pushed
    assert 'class="badge badge--registration"' in page and "<time datetime=" in page
