"""Fan-out: the hub's frames, written straight into cooperative sockets, never interleaved.

A fake gevent-like socket stands in for the kernel: it takes all, part or nothing of a
frame, as a real socket with a full buffer does.
"""

from __future__ import annotations

import struct

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from app.realtime.subscriber import SERVICE_RESTART, Subscriber, text_frame


class FakeSocket:
    """Takes up to `room` bytes per send (0: would block); records what it took."""

    __module__ = "gevent._socket3"  # what Subscriber.attach looks for

    def __init__(self, room: int = 1 << 30) -> None:
        self.room = room
        self.wire = b""
        self.broken = False

    def send(self, data, flags=0, timeout=None):
        assert timeout == 0.0, "the hub must never wait on a socket"
        if self.broken:
            raise BrokenPipeError
        if self.room == 0:
            raise BlockingIOError
        taken = bytes(data[: self.room])
        self.wire += taken
        return len(taken)

    def sendall(self, data):
        self.wire += bytes(data)


def subscriber(sock: FakeSocket | None = None, limit: int = 10) -> Subscriber:
    s = Subscriber(frozenset({"tournament:1"}), frozenset({1}), limit=limit)
    if sock is not None:
        s.attach(sock)
    return s


def decode(wire: bytes) -> list[str]:
    """The text messages a browser reads from `wire` (parsed by wsproto as a client)."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="x", target="/ws")))
    next(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    client.receive_data(wire)
    return [e.data for e in client.events() if isinstance(e, TextMessage)]


@pytest.mark.parametrize("size", [5, 125, 126, 65535, 65536, 200_000])
def test_a_frame_is_one_text_message_of_any_size(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    assert decode(text_frame(text)) == [text]


def test_the_hub_writes_straight_into_a_socket_that_takes_it():
    sock = FakeSocket()
    s = subscriber(sock)
    assert s.offer(text_frame("one"), 1) and s.offer(text_frame("two"), 2)
    assert decode(sock.wire) == ["one", "two"]
    assert s.take() == []  # nothing left for the socket's handler


def test_what_the_kernel_does_not_take_waits_whole_and_in_order():
    sock = FakeSocket(room=10)
    s = subscriber(sock)
    first, second = text_frame("a" * 100), text_frame("b" * 100)
    s.offer(first, 1)
    sock.room = 0  # the buffer is full now
    s.offer(second, 2)  # must not go out before the rest of the first
    assert s.wake.is_set()
    assert s.flush(sock.sendall)
    assert decode(sock.wire) == ["a" * 100, "b" * 100]


def test_the_hub_does_not_write_while_the_handler_is_sending():
    sock = FakeSocket(room=0)
    s = subscriber(sock)
    s.offer(text_frame("queued"), 1)
    sock.room = 1 << 30

    def sendall_then_hub_offers(data):
        sock.sendall(data)
        if not hasattr(sendall_then_hub_offers, "done"):
            sendall_then_hub_offers.done = True
            s.offer(text_frame("during"), 2)  # the hub runs while the handler's send waits

    s.flush(sendall_then_hub_offers)
    assert decode(sock.wire) == ["queued", "during"]


def test_a_full_queue_asks_a_slow_socket_to_come_back():
    sock = FakeSocket(room=0)
    s = subscriber(sock, limit=2)
    assert s.offer(text_frame("1")) and s.offer(text_frame("2"))
    assert not s.offer(text_frame("3"))
    assert s.close_code == SERVICE_RESTART


def test_a_broken_socket_is_closed_not_raised():
    sock = FakeSocket()
    sock.broken = True
    s = subscriber(sock)
    assert not s.offer(text_frame("x"))
    assert s.close_code == SERVICE_RESTART


def test_without_gevent_the_handler_sends_everything():
    s = subscriber()
    s.attach(object())  # a real thread's socket: never written by the hub
    frame = text_frame("x")
    assert s.offer(frame)
    assert s.take() == [frame]


def test_frame_header_carries_the_length():
    assert text_frame("ab")[:2] == bytes([0x81, 2])
    assert text_frame("a" * 300)[:4] == bytes([0x81, 126]) + struct.pack("!H", 300)
