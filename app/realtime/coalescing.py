"""Coalescing: a burst of updates to one match within a short window is sent once, latest state.

Fragments are rendered from the current database state, so the newest event of a
match stands for every earlier one: non-terminal events (`match_updated`) of the
same match that arrive within the window are rendered once, when it ends.
Terminal events (`match_completed`, `bracket_updated`, `bracket_generated`) are
never delayed: they first flush what waits in their tournament (a waiting update
of the completed match itself is absorbed: the terminal event redraws it).

The sequence marker of a message never runs ahead of what the socket has got: while
an event of the tournament waits, markers stay below it, so a socket that reconnects
with the marker it saw is replayed that event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.realtime.feed import Event

TERMINAL = frozenset({"match_completed", "bracket_updated", "bracket_generated"})
COALESCED = frozenset({"match_updated", "score_updated"})

Send = tuple[Event, int]  # an event to render now, and the sequence marker its message carries


@dataclass
class _Group:
    first: int  # the lowest sequence number waiting in the group
    event: Event  # the newest event, standing for all of them
    deadline: float


class Coalescer:
    """Decides, event by event, what the hub renders now and what waits (one per hub)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._groups: dict[tuple[int, int], _Group] = {}  # (tournament, match) -> waiting
        self._seen: dict[int, int] = {}  # tournament -> highest sequence number handled

    def add(self, event: Event) -> list[Send]:
        """What to render now for `event`, in order ([] when it waits for its window)."""
        tournament = event.tournament_id or 0
        prior = self._seen.get(tournament, 0)
        match_id = event.payload.get("match_id")
        sends: list[Send] = []
        if self.window > 0 and event.type in COALESCED and match_id is not None:
            self._wait(tournament, match_id, event)
        elif event.type in TERMINAL:
            if event.type == "match_completed":  # it redraws its own match: absorbed
                self._groups.pop((tournament, match_id), None)
            for key in [k for k in self._groups if k[0] == tournament]:
                group = self._groups.pop(key)
                sends.append((group.event, self._marker(tournament, prior)))
            sends.append((event, self._marker(tournament, event.id)))
        else:
            sends.append((event, self._marker(tournament, event.id)))
        self._seen[tournament] = max(prior, event.id)
        return sends

    def due(self) -> list[Send]:
        """The waiting groups whose window has ended, with their markers."""
        now = self._clock()
        sends = []
        for key in [k for k, g in self._groups.items() if g.deadline <= now]:
            group = self._groups.pop(key)
            sends.append((group.event, self._marker(key[0], self._seen.get(key[0], 0))))
        return sends

    def next_deadline(self) -> float | None:
        """When the earliest waiting group is due (None when nothing waits)."""
        return min((g.deadline for g in self._groups.values()), default=None)

    def _wait(self, tournament: int, match_id: int, event: Event) -> None:
        key = (tournament, match_id)
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = _Group(event.id, event, self._clock() + self.window)
            return
        # Redraw the tournament's pages if any event of the burst asked for it.
        follow = bool(group.event.payload.get("follow")) and bool(event.payload.get("follow"))
        newest = event if event.id > group.event.id else group.event
        payload = {k: v for k, v in newest.payload.items() if k != "follow"}
        if follow:
            payload["follow"] = True
        group.event = replace(newest, payload=payload)
        group.first = min(group.first, event.id)

    def _marker(self, tournament: int, upto: int) -> int:
        waiting = [g.first for k, g in self._groups.items() if k[0] == tournament]
        return min(upto, min(waiting) - 1) if waiting else upto
