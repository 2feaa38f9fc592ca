"""The broker: wakes hubs when outbox rows have been committed.

After a commit that recorded events, `notify_committed` wakes this process's
hub at once and, when ``REDIS_URL`` is set, publishes a tiny message that
wakes the hubs of every other web process (their `Listener`). Both are only
hints — the outbox is the truth and each hub also polls it — so a Redis
outage costs latency, never an event, and never fails the request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from flask import current_app, has_app_context
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

HUB_KEY = "bracketeer.realtime.hub"
PUBLISH_TIMEOUT = 0.25  # seconds; a publish happens inside the committing request
OUTAGE_PAUSE = 2.0  # after a failed publish, skip publishing this long (no timeout per request)


def notify_committed() -> None:
    """Tell hubs that new outbox rows exist. Never raises, never blocks for long."""
    if not has_app_context():
        return
    try:
        app = current_app._get_current_object()
        hub = app.extensions.get(HUB_KEY)
        if hub is not None:
            hub.wake()
        if url := app.config.get("REDIS_URL"):
            _publisher(url).publish()
    except Exception:  # a broken hint must never break the request that committed
        log.exception("could not notify hubs of committed events")


@lru_cache(maxsize=8)
def channel(url: str) -> str:
    """The pub/sub channel of the database behind `url` (pub/sub ignores db numbers)."""
    db = Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0)
    return f"bracketeer:{db}:outbox"


def _client(url: str, **options) -> Redis:
    # No retries: redis-py's default retries with backoff would hold a request for seconds.
    return Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)


class _Publisher:
    """One connection pool per process and URL, with a pause after a failure."""

    def __init__(self, url: str) -> None:
        self.redis = _client(url, socket_timeout=PUBLISH_TIMEOUT,
                             socket_connect_timeout=PUBLISH_TIMEOUT)
        self.channel = channel(url)
        self._paused_until = 0.0

    def publish(self) -> None:
        if time.monotonic() < self._paused_until:
            return
        try:
            self.redis.publish(self.channel, b"1")
        except Exception as error:
            if not self._paused_until:
                log.warning("Redis publish failed (%s); other processes fall back to polling",
                            error)
            self._paused_until = time.monotonic() + OUTAGE_PAUSE
        else:
            if self._paused_until:
                log.info("Redis publish works again")
            self._paused_until = 0.0


@lru_cache(maxsize=8)
def _publisher(url: str) -> _Publisher:
    return _Publisher(url)


class Listener:
    """Wakes a hub whenever another process publishes; reconnects by itself after outages."""

    def __init__(self, url: str, on_message: Callable[[], None]) -> None:
        self.url = url
        self.on_message = on_message
        self.connected = False
        self._failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="realtime-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._listen()  # returns only when stopped
            except Exception as error:
                if not self._failing:
                    log.warning("Redis pub/sub unavailable (%s); polling the outbox until it "
                                "is back", error)
                    self._failing, backoff = True, 0.5
                    self.connected = False
                    self.on_message()  # so the hub switches to its short poll now
                self.connected = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _listen(self) -> None:
        redis = _client(self.url, socket_connect_timeout=2, socket_timeout=10,
                        health_check_interval=15)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel(self.url))
            self.connected = True
            if self._failing:
                log.info("Redis pub/sub is back")
                self._failing = False
            self.on_message()  # catch up on whatever was published while we were away
            while not self._stop.is_set():
                if pubsub.get_message(timeout=1.0) is not None:
                    self.on_message()
        finally:
            pubsub.close()
            redis.close()
