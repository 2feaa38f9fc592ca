"""One connected socket as the hub sees it: its rooms and a bounded send queue.

The hub never writes to a socket itself: it appends the (shared) message to
the subscriber's queue and sets its wake-up event, and the socket's own
handler sends. So a slow client only ever delays itself; when its queue is
full it is asked to close with 1012 and will reconnect and resync.
"""

from __future__ import annotations

import threading
from collections import deque

SERVICE_RESTART = 1012  # "come back": htmx reconnects after it (not after 1000)


class Subscriber:
    """A socket's membership in rooms and the messages waiting to be sent to it."""

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
        self._queue: deque[str] = deque()

    def offer(self, message: str) -> bool:
        """Queue a message without ever blocking; a full queue asks the socket to close."""
        if self.close_code is not None:
            return False
        if len(self._queue) >= self.limit:
            self.close(SERVICE_RESTART, "too slow; reconnect to resync")
            return False
        self._queue.append(message)
        self.wake.set()
        return True

    def take(self) -> list[str]:
        """Everything queued so far, oldest first."""
        messages = []
        while self._queue:
            messages.append(self._queue.popleft())
        return messages

    def close(self, code: int, reason: str = "") -> None:
        """Ask the socket's handler to close with `code` (the first request wins)."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.wake.set()

    def __repr__(self) -> str:
        return f"<Subscriber rooms={sorted(self.rooms)} queued={len(self._queue)}>"
