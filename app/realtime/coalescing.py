"""Coalescing: a burst of updates to one match within a short window is sent once, latest state.

Fragments are rendered from the current database state, so the newest event of a
match stands for every earlier one. A non-terminal event (`match_updated`) of a
match that has had none for a window is sent at once and opens a window; those
that follow within it are rendered once, from the newest, when it ends (and open
the next one). So a lone update is never delayed and a burst costs two renders.
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
class _Window:
    deadline: float
    first: int | None = None  # the lowest sequence number waiting (None: nothing waits)
    event: Event | None = None  # the newest waiting event, standing for all of them

    def hold(self, event: Event) -> None:
        """Make `event` wait, merged with what already waits."""
        if self.event is None:
            self.first, self.event = event.id, event
            return
        # Redraw the tournament's pages if any event of the burst asked for it.
        follow = bool(self.event.payload.get("follow")) and bool(event.payload.get("follow"))
        newest = event if event.id > self.event.id else self.event
        payload = {k: v for k, v in newest.payload.items() if k != "follow"}
        if follow:
            payload["follow"] = True
        self.event = replace(newest, payload=payload)
        self.first = min(self.first, event.id)


class Coalescer:
    """Decides, event by event, what the hub renders now and what waits (one per hub)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._windows: dict[tuple[int, int], _Window] = {}  # (tournament, match) -> window
        self._seen: dict[int, int] = {}  # tournament -> highest sequence number handled

    def add(self, event: Event) -> list[Send]:
        """What to render now for `event`, in order ([] when it waits for its window)."""
        tournament = event.tournament_id or 0
        prior = self._seen.get(tournament, 0)
        match_id = event.payload.get("match_id")
        sends: list[Send] = []
        if self.window > 0 and event.type in COALESCED and match_id is not None:
            window = self._windows.get((tournament, match_id))
            now = self._clock()
            if window is None or (window.deadline <= now and window.event is None):
                self._windows[(tournament, match_id)] = _Window(now + self.window)
                sends.append((event, self._marker(tournament, event.id)))
            else:
                window.hold(event)
        elif event.type in TERMINAL:
            if event.type == "match_completed":  # it redraws its own match: absorbed
                self._windows.pop((tournament, match_id), None)
            for key in [k for k in self._windows if k[0] == tournament]:
                waiting = self._windows.pop(key).event
                if waiting is not None:
                    sends.append((waiting, self._marker(tournament, prior)))
            sends.append((event, self._marker(tournament, event.id)))
        else:
            sends.append((event, self._marker(tournament, event.id)))
        self._seen[tournament] = max(prior, event.id)
        return sends

    def due(self) -> list[Send]:
        """The waiting events whose window has ended, with their markers."""
        now = self._clock()
        sends = []
        for key, window in list(self._windows.items()):
            if window.deadline > now:
                continue
            if window.event is None:  # a quiet window: the next update goes out at once
                del self._windows[key]
                continue
            event, window.event, window.first = window.event, None, None
            window.deadline = now + self.window  # a burst that goes on is sent once a window
            sends.append((event, self._marker(key[0], self._seen.get(key[0], 0))))
        return sends

    def next_deadline(self) -> float | None:
        """When the earliest waiting event is due (None when nothing waits)."""
        return min((w.deadline for w in self._windows.values() if w.event is not None),
                   default=None)

    def _marker(self, tournament: int, upto: int) -> int:
        waiting = [w.first for k, w in self._windows.items()
                   if k[0] == tournament and w.first is not None]
        return min(upto, min(waiting) - 1) if waiting else upto
