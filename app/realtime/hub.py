"""The hub: one per web process, tails the outbox and fans fragments out to rooms.

Started lazily by the first WebSocket (so CLI commands and workers never run
one). A background thread — a greenlet under gunicorn's gevent worker — reads
new events in short sessions of its own, renders each event once per room and
puts the same string on every socket of that room. It wakes when this process
commits events (`broker.notify_committed`), when another process publishes on
Redis, and on a poll: every ``OUTBOX_POLL_SECONDS`` without Redis (or while
Redis is unreachable), every ``OUTBOX_SAFETY_POLL_SECONDS`` with it.

Bursts of updates to one match are coalesced (`coalescing`), and each room's
message is encoded into a WebSocket frame once and offered as the same bytes
to every socket (`subscriber`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from flask import Flask

from app.extensions import db
from app.realtime import fragments, stats
from app.realtime.broker import HUB_KEY, Listener
from app.realtime.catchup import CatchUp
from app.realtime.coalescing import Coalescer
from app.realtime.feed import Event, Feed
from app.realtime.rooms import ACCESS_EVENTS, DEFAULT_CAPACITY, Rooms
from app.realtime.subscriber import SERVICE_RESTART, Subscriber, text_frame

log = logging.getLogger(__name__)

BATCH = 500
COALESCE_SECONDS = 0.1  # a burst of one match's updates goes out at most once a window
_hubs: weakref.WeakSet[Hub] = weakref.WeakSet()
_start_lock = threading.Lock()


def hub_for(app: Flask) -> Hub:
    """This process's hub for `app`, started on first use."""
    hub = app.extensions.get(HUB_KEY)
    if hub is None:
        with _start_lock:
            hub = app.extensions.get(HUB_KEY)
            if hub is None:
                hub = Hub(app)
                hub.start()
                app.extensions[HUB_KEY] = hub
    return hub


def shutdown_all(code: int = SERVICE_RESTART) -> None:
    """Close every socket of every hub in this process (server shutdown: clients come back)."""
    for hub in list(_hubs):
        hub.stop(code)


class Hub:
    """Tails the outbox and delivers each event's fragments to the sockets of its rooms."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.rooms = Rooms(int(app.config.get("WS_ROOM_CAPACITY") or DEFAULT_CAPACITY))
        self._catch_up = CatchUp(self.rooms, self._render)
        self.feed: Feed | None = None
        self.listener: Listener | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._failing = False
        self._poll = float(app.config.get("OUTBOX_POLL_SECONDS", 0.5))
        self._safety_poll = float(app.config.get("OUTBOX_SAFETY_POLL_SECONDS", 5.0))
        self.coalescer = Coalescer(float(app.config.get("REALTIME_COALESCE_SECONDS",
                                                        COALESCE_SECONDS)))

    def start(self) -> None:
        """Begin after the newest committed event and start the background threads."""
        with fragments.render_context(self.app):
            self.feed = Feed.at_end(db.session)
        stats.enable(os.environ.get("REALTIME_STATS_DIR"))  # bench/realtime.py only
        threading.Thread(target=self._run, name="realtime-hub", daemon=True).start()
        if url := self.app.config.get("REDIS_URL"):
            self.listener = Listener(url, self.wake)
            self.listener.start()
        _hubs.add(self)
        log.info("realtime hub started at sequence %s", self.feed.cursor)

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    def stop(self, code: int = SERVICE_RESTART) -> None:
        """Stop tailing and ask every socket to close with `code`."""
        self._stopping.set()
        self._wake.set()
        if self.listener:
            self.listener.stop()
        for subscriber in self.rooms.everyone():
            subscriber.close(code, "server restarting")

    def subscribe(self, subscriber: Subscriber) -> None:
        """Start delivering the subscriber's rooms to it (refused while stopping)."""
        if self._stopping.is_set():
            subscriber.close(SERVICE_RESTART, "server restarting")
        self.rooms.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.rooms.remove(subscriber)

    def catch_up(self, subscriber: Subscriber, since: int | None) -> str:
        """A socket's first message: what it missed since `since` (or a snapshot of its
        rooms when the gap cannot be replayed), or just the sequence (see `catchup`)."""
        with fragments.render_context(self.app):
            return self._catch_up.first_message(subscriber, since)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._timeout())
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.pump()
            except Exception:  # the database may be away: keep the hub alive and retry
                if not self._failing:
                    log.exception("realtime hub cannot read the outbox; retrying every second")
                self._failing = True
                self._stopping.wait(1.0)
            else:
                if self._failing:
                    log.info("realtime hub reads the outbox again")
                self._failing = False

    def _timeout(self) -> float:
        listening = self.listener is not None and self.listener.connected
        timeout = self._safety_poll if listening else self._poll
        if (deadline := self.coalescer.next_deadline()) is not None:
            timeout = min(timeout, max(0.0, deadline - time.monotonic()))
        return timeout

    def pump(self) -> None:
        """Deliver every event committed since the last pump, and the bursts now due."""
        more = True
        while more and not self._stopping.is_set():
            with fragments.render_context(self.app):
                events, more = self.feed.read(db.session, BATCH)
                ready: list[tuple[Event, int]] = []
                if events:
                    self._catch_up.invalidate()  # cached first messages may lack these
                for event in events:
                    if self.rooms.watching(event.tournament_id):  # else render nothing
                        ready.extend(self.coalescer.add(event))
                self._dispatch(ready)
        if due := self.coalescer.due():
            with fragments.render_context(self.app):
                self._dispatch(due)

    def _dispatch(self, ready: list[tuple[Event, int]]) -> None:
        """Render each event once per watched room, then offer each room one frame of all
        its fragments, marked with the newest of their sequences, to every socket in it.

        One frame per room per read: the events of one transaction (a confirmation, and the
        next matches its winner and loser reached) cost one fan-out, not one each. The
        marker is safe: each `seq` is one the coalescer lets a socket advertise, and the
        frame carries every fragment up to the newest of them.
        """
        parts: dict[str, list[str]] = {}
        marks: dict[str, int] = {}
        watched: dict[str, tuple] = {}

        def wanted(room: str) -> bool:
            if room not in watched:
                watched[room] = self.rooms.members(room)
            return bool(watched[room])

        started = time.perf_counter()
        for event, seq in ready:
            if not self.rooms.watching(event.tournament_id):
                continue
            if event.type in ACCESS_EVENTS:  # before rendering: no fragment to the shut out
                self.rooms.recheck(event.tournament_id)
            for room, html in self._render(event, wanted).items():
                parts.setdefault(room, []).append(html)
                marks[room] = max(marks.get(room, 0), seq)
        render_seconds = time.perf_counter() - started
        for room, htmls in parts.items():
            seq = marks[room]
            frame = text_frame(fragments.message(seq, "".join(htmls)))  # shared by all
            members = watched[room]
            stats.dispatching(seq, len(members), len(frame), render_seconds)
            for subscriber in members:
                subscriber.offer(frame, seq)
            stats.dispatched(seq)

    def _render(self, event: Event, wanted: Callable[[str], bool]) -> dict[str, str]:
        try:
            return fragments.render(event, wanted)
        except Exception:  # one bad fragment must not stop the others
            log.exception("could not render event %s (%s)", event.id, event.type)
            db.session.rollback()
            return {}
