"""A socket's first message: what it missed since `since`, or a snapshot of its rooms.

Replays when the outbox still holds the whole gap (`feed.missed`) and it holds
few distinct events (`REPLAY_RENDERS`); otherwise sends every live region of
the socket's rooms once (`fragments.snapshot_of`): each event redraws its
regions from the current state, so replaying a busy gap event by event would
draw the bracket again for every result in it. Both are cached: after a
restart or an outage, the sockets of one room come back together with the
same `since`, and one render serves them all. A cached
message stays valid until the hub dispatches another event or the outbox's
newest sequence moves — an event that committed late is dispatched to the
socket anyway, since it joined its rooms before catching up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

from app.extensions import db
from app.realtime import fragments
from app.realtime.feed import Event, current_sequence, missed
from app.realtime.rooms import ACCESS_EVENTS, Rooms
from app.realtime.subscriber import Subscriber

CACHE_SIZE = 64  # entries per cache; cleared when full (a bracket's can weigh 100s of KB)
REPLAY_RENDERS = 8  # distinct events replayed at most; a gap with more gets a snapshot
_OOB_ID = re.compile(r'<[a-zA-Z][^>]*?\sid="([^"]+)"[^>]*?\shx-swap-oob=')
Render = Callable[[Event, Callable[[str], bool]], dict[str, str]]


class CatchUp:
    """Builds first messages, caching them per gap while nothing new has been dispatched."""

    def __init__(self, rooms: Rooms, render: Render) -> None:
        self.rooms = rooms
        self._render = render
        self._generation = 0  # events dispatched so far
        self._replays: dict[Hashable, tuple[int, int, str, bool]] = {}
        self._snapshots: dict[str, tuple[int, int, str]] = {}

    def invalidate(self) -> None:
        """An event was dispatched: every cached message may be stale (and is let go, so
        a cache never holds more than the messages of one quiet spell)."""
        self._generation += 1
        self._replays, self._snapshots = {}, {}

    def first_message(self, subscriber: Subscriber, since: int | None) -> str:
        """The message a socket starts with (in a render context)."""
        newest = current_sequence(db.session)
        if since is None:
            return fragments.message(newest, "")
        generation, key = self._generation, (subscriber.rooms, since)
        cached = self._replays.get(key)
        if cached is None or cached[:2] != (generation, newest):
            cached = (generation, newest, *self._replay(subscriber, since))
            self._keep(self._replays, key, cached, generation)
        message, access_may_have_changed = cached[2], cached[3]
        # Authorized a moment ago, but access may have changed since `since` (and the hub's
        # re-check may have run just before this socket joined): check it again.
        if access_may_have_changed and not self.rooms.still_allowed(subscriber):
            return fragments.message(since, "")  # the socket closes with 1008 next
        return message

    def _replay(self, subscriber: Subscriber, since: int) -> tuple[str, bool]:
        """The replay of the gap (each element once, in its current state), or a snapshot;
        and whether access may have changed in the gap."""
        events = missed(db.session, subscriber.tournament_ids, since)
        if events is None:
            return self._snapshot(subscriber), True
        changed = any(event.type in ACCESS_EVENTS for event in events)
        latest: dict[tuple, Event] = {}  # an event rendered once stands for all its repeats
        for event in events:
            latest[(event.type, event.tournament_id, repr(sorted(event.payload.items())))] = event
        if len(latest) > REPLAY_RENDERS:
            # Each event redraws its regions from the current state, so many events would
            # draw the same region (the bracket) many times over: draw each region once.
            return self._snapshot(subscriber), changed
        parts: dict[tuple | str, str] = {}  # by the elements they replace: identical once
        for event in latest.values():
            for html in self._render(event, subscriber.rooms.__contains__).values():
                parts[_oob_ids(html) or html] = html
        seq = max([since, *(event.id for event in events)])
        return fragments.message(seq, "".join(parts.values())), changed

    def _snapshot(self, subscriber: Subscriber) -> str:
        """Every live region of the socket's rooms, marked with the newest sequence."""
        generation, seq = self._generation, current_sequence(db.session)
        parts = []
        for room in sorted(subscriber.rooms):
            cached = self._snapshots.get(room)
            if cached is None or cached[:2] != (generation, seq):
                cached = (generation, seq, fragments.snapshot_of(room))
                self._keep(self._snapshots, room, cached, generation)
            parts.append(cached[2])
        return fragments.message(seq, "".join(parts))

    def _keep(self, cache: dict, key: Hashable, value: tuple, generation: int) -> None:
        if generation != self._generation:
            return  # an event was dispatched while rendering: it may be missing from this
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[key] = value


def _oob_ids(html: str) -> tuple[str, ...]:
    """The ids of the elements a fragment replaces: two fragments rendered from the current
    state that replace the same elements are the same."""
    return tuple(_OOB_ID.findall(html))
