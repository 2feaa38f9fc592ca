"""Connection limits: an inbound message rate per socket and a connection count per IP.

Both are per process: each gunicorn worker counts its own sockets (a client
spread over N workers may hold N times the per-IP cap). Counts live in memory
and are released by the socket handler's ``finally``, so a socket that dies
abnormally (reset, ping timeout, killed client) gives its slot back too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from flask import Flask

IPS_KEY = "bracketeer.realtime.ips"

TOO_MANY_MESSAGES = 1008  # policy violation: a page sends nothing, so this is abuse
MESSAGE_TOO_BIG = 1009  # sent by simple-websocket itself past SOCK_SERVER_OPTIONS' cap
TRY_AGAIN_LATER = 1013  # over the per-IP cap or a full room; htmx reconnects with backoff


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; each message takes one."""

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._clock = clock
        self._at = clock()

    def take(self) -> bool:
        """Spend one token; False when there is none (the sender is too fast)."""
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ConnectionCounter:
    """Open sockets per client IP, with a cap; safe under threads and greenlets."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, ip: str) -> bool:
        """Count one more socket of `ip`; False (and nothing counted) when it is at the cap."""
        with self._lock:
            if self.cap and self._open[ip] >= self.cap:
                return False
            self._open[ip] += 1
            return True

    def release(self, ip: str) -> None:
        """Give back a slot taken by `acquire`."""
        with self._lock:
            self._open[ip] -= 1
            if self._open[ip] <= 0:
                del self._open[ip]

    def count(self, ip: str) -> int:
        with self._lock:
            return self._open[ip]


def connections_for(app: Flask) -> ConnectionCounter:
    """This process's per-IP counter for `app` (created on first use)."""
    counter = app.extensions.get(IPS_KEY)
    if counter is None:
        counter = app.extensions.setdefault(
            IPS_KEY, ConnectionCounter(int(app.config.get("WS_MAX_CONNECTIONS_PER_IP", 50))))
    return counter


def bucket_for(app: Flask) -> TokenBucket:
    """A fresh inbound-message bucket for one socket, from the app's settings."""
    return TokenBucket(float(app.config.get("WS_MESSAGES_PER_SECOND", 10)),
                       float(app.config.get("WS_MESSAGE_BURST", 20)))
