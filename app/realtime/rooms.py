"""Rooms: named groups of sockets that receive the same fragments.

A room is a string ``"<kind>:<id>"`` — ``tournament:5``, ``match:42``,
``station:3``. Every room lives inside one tournament, which decides who may
join it (see `owner`) and lets the hub skip events nobody watches.

A tournament has one room per kind of page, so a socket receives only the regions its page
has: ``tournament:5`` (the tournament page: status, participants, overview), ``bracket:5``
(the bracket page: match cards, standings) and ``matches:5`` (the live matches list; pages
that refresh their own parts after any match event join it too).

A room holds at most ``capacity`` sockets (``WS_ROOM_CAPACITY``); one more is
asked to close with 1013 and comes back later. When an event may have changed
who may watch a tournament (`ACCESS_EVENTS`), `recheck` closes with 1008 the
sockets whose viewer may no longer see it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.extensions import db
from app.models import Match, Tournament, User
from app.services import permissions

if TYPE_CHECKING:
    from app.realtime.subscriber import Subscriber

TOURNAMENT_KINDS = ("tournament", "bracket", "matches")  # rooms named by a tournament id
KINDS = (*TOURNAMENT_KINDS, "match", "station")
DEFAULT_CAPACITY = 10_000
ROOM_FULL = 1013  # "try again later": htmx reconnects after it, with backoff
NOT_ALLOWED = 1008  # "do not come back"
# Events after which a tournament's sockets are authorized again (it may have turned
# private, been cancelled, unpublished into a draft or deleted).
ACCESS_EVENTS = frozenset({"tournament_updated", "tournament_deleted"})

# kind -> loader of the tournament that owns room `<kind>:<id>`; a later issue adds station.
_OWNERS: dict[str, Callable[[int], Tournament | None]] = {
    **{kind: lambda tournament_id: db.session.get(Tournament, tournament_id)
       for kind in TOURNAMENT_KINDS},
    "match": lambda match_id: _tournament_of_match(match_id),
}


def _tournament_of_match(match_id: int) -> Tournament | None:
    match = db.session.get(Match, match_id)
    return db.session.get(Tournament, match.tournament_id) if match else None


def tournament_room(tournament_id: int) -> str:
    """The room of a tournament's pages."""
    return f"tournament:{tournament_id}"


def bracket_room(tournament_id: int) -> str:
    """The room of a tournament's bracket page."""
    return f"bracket:{tournament_id}"


def matches_room(tournament_id: int) -> str:
    """The room of a tournament's live matches list (and of pages refreshed by match events)."""
    return f"matches:{tournament_id}"


def match_room(match_id: int) -> str:
    """The room of a match's page."""
    return f"match:{match_id}"


def parse(room: str) -> tuple[str, int] | None:
    """Split a room name into (kind, id); None when it is not a valid room name."""
    kind, _, ident = room.partition(":")
    if kind not in KINDS or not ident.isdigit() or len(ident) > 18:
        return None
    return kind, int(ident)


def owner(room: str) -> Tournament | None:
    """The tournament a room belongs to, or None for unknown rooms and missing objects."""
    parsed = parse(room)
    if parsed is None or parsed[0] not in _OWNERS:
        return None
    return _OWNERS[parsed[0]](parsed[1])


def _may_view(viewer_id: int | None, tournament: Tournament | None) -> bool:
    user = db.session.get(User, viewer_id) if viewer_id is not None else None
    return tournament is not None and permissions.can_view(user, tournament)


class Rooms:
    """The registry of which sockets are in which room (one per hub)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._members: dict[str, set[Subscriber]] = {}
        self._watchers: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, subscriber: Subscriber) -> bool:
        """Put a socket in each of its rooms; when one is full, ask it to close instead."""
        with self._lock:  # check and add in one step, so concurrent joins never overfill
            if any(len(self._members.get(room, ())) >= self.capacity
                   for room in subscriber.rooms):
                subscriber.close(ROOM_FULL, "room full; try again later")
                return False
            for room in subscriber.rooms:
                self._members.setdefault(room, set()).add(subscriber)
            self._watchers.update(subscriber.tournament_ids)
            return True

    def remove(self, subscriber: Subscriber) -> None:
        """Take a socket out of its rooms."""
        with self._lock:
            if not any(subscriber in self._members.get(room, ()) for room in subscriber.rooms):
                return  # refused by `add` (room full): it was never counted
            for room in subscriber.rooms:
                members = self._members.get(room)
                if members is not None:
                    members.discard(subscriber)
                    if not members:
                        del self._members[room]
            self._watchers.subtract(subscriber.tournament_ids)
            self._watchers += Counter()  # drop zero counts

    def members(self, room: str) -> tuple[Subscriber, ...]:
        """A snapshot of the sockets in `room` (safe to iterate while others join or leave)."""
        with self._lock:
            return tuple(self._members.get(room, ()))

    def everyone(self) -> tuple[Subscriber, ...]:
        """Every socket in any room."""
        with self._lock:
            return tuple({s for members in self._members.values() for s in members})

    def watching(self, tournament_id: int | None) -> bool:
        """Whether any socket is in a room of this tournament."""
        return tournament_id is not None and self._watchers[tournament_id] > 0

    def recheck(self, tournament_id: int | None) -> int:
        """Close (1008) the sockets of this tournament whose viewer may no longer watch it.

        Runs in the hub's session before the event is rendered, so a socket that lost
        access never receives the fragment that made the tournament private. Each
        distinct viewer is checked once; returns how many sockets were closed.
        """
        if not self.watching(tournament_id):
            return 0
        with self._lock:
            affected = {s for members in self._members.values() for s in members
                        if tournament_id in s.tournament_ids}
        tournament = db.session.get(Tournament, tournament_id)
        allowed: dict[int | None, bool] = {}
        closed = 0
        for subscriber in affected:
            viewer = getattr(subscriber, "viewer_id", None)
            if viewer not in allowed:
                allowed[viewer] = _may_view(viewer, tournament)
            if not allowed[viewer]:
                subscriber.close(NOT_ALLOWED, "this tournament is no longer open to you")
                closed += 1
        return closed

    @staticmethod
    def still_allowed(subscriber: Subscriber) -> bool:
        """Check one socket again (it may have joined just after `recheck` ran for an event
        it then gets replayed); close it with 1008 when it may no longer watch."""
        viewer = getattr(subscriber, "viewer_id", None)
        for tournament_id in subscriber.tournament_ids:
            if not _may_view(viewer, db.session.get(Tournament, tournament_id)):
                subscriber.close(NOT_ALLOWED, "this tournament is no longer open to you")
                return False
        return True

    def __len__(self) -> int:
        with self._lock:
            return len({s for members in self._members.values() for s in members})
