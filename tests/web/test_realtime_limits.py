"""Connection hygiene through the real server: rate limit, size cap, per-IP and room caps,
and sockets shut out when their tournament stops being open to them.

Servers with small caps are started for this module; the session server has the defaults.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import websocket

from app.extensions import db
from app.models import Status, Visibility
from app.realtime import events
from app.realtime.feed import current_sequence
from app.realtime.limits import ConnectionCounter, TokenBucket
from tests.conftest import LiveServer, save, start_server
from tests.web.test_realtime import (
    TIMEOUT,
    connect,
    receive_until,
    room_of,
    seq_of,
    session_cookie,
    socket_url,
)

PER_IP = 4
CAPACITY = 2


def close_frame(ws: websocket.WebSocket, timeout: float = TIMEOUT) -> tuple[int, str]:
    """Read until the server closes the socket: its close code and reason."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ws.settimeout(left)
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0], frame.data[2:].decode()
    raise AssertionError(f"the server did not close the socket within {timeout} s")


def is_open(ws: websocket.WebSocket) -> bool:
    """Whether the server still serves the socket (it answers a ping with a pong)."""
    ws.ping(b"alive?")
    ws.settimeout(TIMEOUT)
    try:
        opcode, frame = ws.recv_data_frame(True)
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return False
    return opcode == websocket.ABNF.OPCODE_PONG and frame.data == b"alive?"


def drop(ws: websocket.WebSocket) -> None:
    """Vanish without a close frame, as a phone leaving the Wi-Fi does."""
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    ws.sock.close()


def open_until_accepted(server: LiveServer, room: str, timeout: float = TIMEOUT):
    """Connect until the server accepts (it releases slots once it notices a socket died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws, first = connect(server, room)
        if first.startswith("<template data-live-seq="):
            return ws
        ws.close()
        time.sleep(0.05)
    raise AssertionError(f"no socket accepted in {room} within {timeout} s")


def try_connect(server: LiveServer, room: str) -> tuple[websocket.WebSocket, int | None]:
    """Open a socket: (socket, None) when it was served, (socket, close code) when refused."""
    ws = websocket.create_connection(socket_url(server, room), timeout=TIMEOUT)
    opcode, frame = ws.recv_data_frame(True)
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        return ws, struct.unpack("!H", frame.data[:2])[0]
    return ws, None


@pytest.fixture(scope="module")
def tight_server(settings) -> Iterator[LiveServer]:
    server = start_server(settings, extra_env={"WS_MAX_CONNECTIONS_PER_IP": str(PER_IP),
                                               "WS_ROOM_CAPACITY": str(CAPACITY),
                                               "TRUST_PROXY": "1"})
    yield server
    server.stop()


def change(tournament, **fields) -> int:
    """Change a tournament and record its event, as a service does; returns its sequence."""
    for name, value in fields.items():
        setattr(tournament, name, value)
    events.record("tournament_updated", tournament_id=tournament.id)
    save(tournament)
    return current_sequence(db.session)


# --- the pieces -----------------------------------------------------------------------


def test_token_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=20, clock=lambda: now[0])
    assert all(bucket.take() for _ in range(20))
    assert not bucket.take()
    now[0] += 0.25  # 2.5 tokens back
    assert bucket.take() and bucket.take() and not bucket.take()
    now[0] += 100  # never more than the burst saved up
    assert sum(bucket.take() for _ in range(50)) == 20


def test_connection_counter_never_admits_more_than_its_cap_under_threads():
    counter = ConnectionCounter(cap=5)
    admitted = []
    barrier = threading.Barrier(40)

    def join():
        barrier.wait()
        admitted.append(counter.acquire("10.0.0.1"))

    threads = [threading.Thread(target=join) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 5 and counter.count("10.0.0.1") == 5
    assert counter.acquire("10.0.0.2")  # another address has its own count
    for _ in range(5):
        counter.release("10.0.0.1")
    assert counter.count("10.0.0.1") == 0 and counter.acquire("10.0.0.1")


# --- inbound messages -----------------------------------------------------------------


def test_a_socket_that_floods_messages_is_closed_as_too_many(live_server, tournament):
    ws, _ = connect(live_server, room_of(tournament))
    for _ in range(60):
        # Stop once the server answered: messages sent after its close may reach a closed
        # socket, whose reset would discard the close frame before the client reads it.
        if select.select([ws.sock], [], [], 0.002)[0]:
            break
        try:
            ws.send("spam")
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            break
    code, reason = close_frame(ws)
    assert (code, reason) == (1008, "Too many messages.")


def test_a_few_messages_within_the_burst_leave_the_socket_served(live_server, tournament):
    ws, hello = connect(live_server, room_of(tournament), since=current_sequence(db.session))
    for _ in range(15):
        ws.send("hello")
    seq = change(tournament, status=Status.CHECK_IN)
    assert seq_of(receive_until(ws, lambda m: "badge--check_in" in m)) == seq
    ws.close()


def test_a_message_over_16_kb_closes_the_socket_as_too_big(live_server, tournament):
    ws, _ = connect(live_server, room_of(tournament))
    ws.send("x" * (16 * 1024 - 64))  # just under: fine
    assert is_open(ws)
    ws.send("x" * (16 * 1024 + 1))
    assert close_frame(ws)[0] == 1009


def test_a_huge_message_is_refused_without_the_server_reading_it_all(live_server, tournament):
    ws, _ = connect(live_server, room_of(tournament))
    started = time.monotonic()
    try:
        ws.send("x" * (8 * 1024 * 1024))
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass  # the server closed while we were still sending: that is the point
    else:
        assert close_frame(ws)[0] == 1009
    assert time.monotonic() - started < TIMEOUT


# --- caps -----------------------------------------------------------------------------


def test_a_full_room_refuses_one_more_socket_until_one_leaves(tight_server, tournament):
    room = room_of(tournament)
    inside = [connect(tight_server, room)[0] for _ in range(CAPACITY)]
    refused = websocket.create_connection(socket_url(tight_server, room), timeout=TIMEOUT)
    assert close_frame(refused) == (1013, "room full; try again later")
    assert all(is_open(ws) for ws in inside)
    drop(inside.pop())  # an abnormal close frees the place too
    inside.append(open_until_accepted(tight_server, room))
    for ws in inside:
        ws.close()


def test_one_address_gets_at_most_its_cap_of_sockets_even_when_they_race(
        tight_server, make_tournament):
    # Two sockets per room: the room capacity never binds, only the per-IP cap does.
    rooms = [room_of(make_tournament(f"cap-cup-{i}")) for i in range(PER_IP)]
    results: list[tuple[websocket.WebSocket, int | None]] = []
    barrier = threading.Barrier(2 * PER_IP)

    def join(room: str) -> None:
        barrier.wait()
        results.append(try_connect(tight_server, room))

    threads = [threading.Thread(target=join, args=(room,)) for room in rooms * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted((code or 0) for _, code in results)
    assert codes == [0] * PER_IP + [1013] * PER_IP
    for ws, code in results:
        if code is None:
            drop(ws)  # every slot must come back, although no socket said goodbye
        else:
            ws.close()
    again = [open_until_accepted(tight_server, room) for room in rooms]
    refused = websocket.create_connection(socket_url(tight_server, rooms[0]), timeout=TIMEOUT)
    assert close_frame(refused) == (1013, "Too many live connections from your address.")
    for ws in again:
        ws.close()


def test_behind_a_proxy_the_cap_counts_the_forwarded_client_address(
        tight_server, make_tournament):
    rooms = [room_of(make_tournament(f"proxy-cup-{i}")) for i in range(PER_IP)]

    def via(client_ip: str, room: str) -> websocket.WebSocket:
        return websocket.create_connection(socket_url(tight_server, room), timeout=TIMEOUT,
                                           header=[f"X-Forwarded-For: {client_ip}"])

    crowd = [via("203.0.113.7", room) for room in rooms]
    assert all(seq_of(ws.recv()) >= 0 for ws in crowd)
    assert close_frame(via("203.0.113.7", rooms[0]))[0] == 1013
    neighbour = via("203.0.113.8", rooms[1])  # same proxy, another client: its own count
    assert seq_of(neighbour.recv()) >= 0
    for ws in [*crowd, neighbour]:
        ws.close()


# --- who may watch --------------------------------------------------------------------


def test_sockets_lose_a_tournament_that_turns_private_but_its_staff_keep_it(
        app, live_server, make_tournament, organizer):
    cup = make_tournament("soon-secret-cup")
    since = current_sequence(db.session)
    anonymous, _ = connect(live_server, room_of(cup), since=since)
    staff, _ = connect(live_server, room_of(cup), since=since,
                       cookie=session_cookie(app, organizer))
    seq = change(cup, visibility=Visibility.PRIVATE, status=Status.CHECK_IN)

    assert seq_of(receive_until(staff, lambda m: "badge--check_in" in m)) == seq
    # Closed before the event is rendered: the shut-out socket never sees its fragment.
    anonymous.settimeout(TIMEOUT)
    opcode, frame = anonymous.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", frame.data[:2])[0] == 1008
    assert is_open(staff)
    staff.close()


def test_a_public_tournament_change_keeps_its_anonymous_sockets(live_server, tournament):
    ws, _ = connect(live_server, room_of(tournament), since=current_sequence(db.session))
    change(tournament, status=Status.CHECK_IN)
    receive_until(ws, lambda m: "badge--check_in" in m)
    assert is_open(ws)
    ws.close()


@pytest.mark.parametrize("gap", ["replayed", "snapshot"])
def test_a_socket_that_joins_just_after_its_tournament_turned_private_is_shut_out_too(
        app, make_tournament, gap):
    # Authorized a moment before the change, subscribed a moment after the hub re-checked:
    # its catch-up covers the change, so it is checked again there, and gets no fragment.
    from app.realtime.hub import Hub
    from app.realtime.routes import LiveSocket

    cup = make_tournament("racing-cup")
    since = change(cup, status=Status.CHECK_IN)  # the outbox holds everything after `since`
    if gap == "snapshot":
        since += 1000  # a number from another outbox history: not replayable
    late = LiveSocket(frozenset({room_of(cup)}), frozenset({cup.id}), limit=10)
    change(cup, visibility=Visibility.PRIVATE)
    hub = Hub(app)
    hub.rooms.add(late)
    first = hub.catch_up(late, since)
    assert late.close_code == 1008
    assert seq_of(first) == since and "tournament-" not in first
