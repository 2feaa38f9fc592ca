"""One connected socket as the hub sees it: its rooms and a bounded send queue.

The hub encodes each message into a WebSocket frame once per room and offers
the same bytes to every subscriber. Under gevent (one OS thread, cooperative
sockets) the hub writes the frame straight into the socket when that cannot
block: the kernel takes it or says "would block", nothing waits. That spares a
greenlet switch per socket and per message, most of the cost of a fan-out.
Whatever the kernel does not take goes to the subscriber's queue, and the
socket's own handler sends it (`flush`) — so a slow client only ever delays
itself; when its queue is full it is asked to close with 1012 and will
reconnect and resync.
"""

from __future__ import annotations

import struct
import threading
from collections import deque

from app.realtime import stats

SERVICE_RESTART = 1012  # "come back": htmx reconnects after it (not after 1000)


def text_frame(text: str) -> bytes:
    """`text` as one unmasked WebSocket text frame (server to client, no extension)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class Subscriber:
    """A socket's membership in rooms and the frames waiting to be sent to it."""

    def __init__(self, rooms: frozenset[str], tournament_ids: frozenset[int], *,
                 limit: int, wake: threading.Event | None = None) -> None:
        self.rooms = rooms
        self.tournament_ids = tournament_ids
        self.limit = limit
        # Shared with the socket (simple-websocket sets it on close and on inbound
        # messages), so one wait covers "something to send" and "peer went away".
        self.wake = wake or threading.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self._queue: deque[tuple[int, bytes | str]] = deque()
        self._direct = None  # the socket, once the hub may write frames to it itself
        self._sending = False  # the handler is in the middle of a send: never interleave

    def attach(self, sock) -> None:
        """Let the hub write frames straight to `sock` (a gevent socket; after the first message,
        so nothing overtakes it). With real threads the handler keeps sending everything."""
        if type(sock).__module__.startswith("gevent."):
            self._direct = sock

    def offer(self, frame: bytes | str, seq: int = 0) -> bool:
        """Send or queue a frame without ever blocking; a full queue asks the socket to close."""
        if self.close_code is not None:
            return False
        if self._direct is not None and not self._queue and not self._sending:
            try:
                sent = self._direct.send(frame, 0, timeout=0.0)  # gevent: raise, never wait
            except BlockingIOError:
                sent = 0
            except OSError:  # the peer is gone; its handler notices and unsubscribes it
                self.close(SERVICE_RESTART, "connection lost")
                return False
            if sent == len(frame):
                stats.sent(seq)
                return True
            frame = frame[sent:]  # the handler sends the rest before anything else
        if len(self._queue) >= self.limit:
            self.close(SERVICE_RESTART, "too slow; reconnect to resync")
            return False
        self._queue.append((seq, frame))
        self.wake.set()
        return True

    def take(self) -> list[bytes | str]:
        """Everything queued so far, oldest first."""
        frames = [frame for _, frame in self._queue]
        self._queue.clear()
        return frames

    def flush(self, sendall) -> bool:
        """Send every queued frame with `sendall` (the socket's handler); False if none was."""
        if not self._queue:
            return False
        self._sending = True
        try:
            while self._queue:
                seq, frame = self._queue[0]
                sendall(frame)
                self._queue.popleft()
                stats.sent(seq)
        finally:
            self._sending = False
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Ask the socket's handler to close with `code` (the first request wins)."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.wake.set()

    def __repr__(self) -> str:
        return f"<Subscriber rooms={sorted(self.rooms)} queued={len(self._queue)}>"
