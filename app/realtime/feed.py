"""The outbox feed: committed events in sequence order, with nothing skipped.

An event's outbox id is its sequence number. On PostgreSQL ids are handed out
when a row is inserted but become visible when its transaction commits, so a
lower id can appear after a higher one. The feed remembers the ids it jumped
over for `LATE_COMMIT_SECONDS` and picks them up when they show; an id that
never shows belonged to a rolled-back transaction. Replays reach back the
same window for the same reason.

The outbox keeps events for ``OUTBOX_RETENTION_SECONDS`` and at most
``OUTBOX_RETENTION_EVENTS`` (`prune`, run by the sweeper). A client whose
`since` reaches back past what is kept — or whose gap holds more than
`REPLAY_LIMIT` events — cannot be replayed to (`missed` returns None): it gets
a snapshot of its rooms instead (`fragments.snapshot_of`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from app.models import OutboxEvent, utcnow

# How long a transaction may hold an outbox id before it commits (generous on purpose).
LATE_COMMIT_SECONDS = 10.0
MAX_MISSING = 1000  # ids tracked at most; a bigger jump is a sequence reset or a crash gap
# Events replayed to one socket at most; a bigger gap is cheaper as one snapshot (each
# replayed event is rendered for the socket alone, a snapshot draws every region once).
REPLAY_LIMIT = 200
MIN_RETENTION_SECONDS = 60.0  # far beyond LATE_COMMIT_SECONDS: the feed's window stays whole
MIN_RETENTION_EVENTS = 1000


@dataclass(frozen=True)
class Event:
    """One committed outbox row, detached from any database session."""

    id: int
    type: str
    tournament_id: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @classmethod
    def of(cls, row: OutboxEvent) -> Event:
        return cls(row.id, row.type, row.tournament_id, dict(row.payload or {}), row.created_at)


def current_sequence(session: Session) -> int:
    """The sequence number of the newest committed event (0 when there is none)."""
    return session.scalar(select(func.max(OutboxEvent.id))) or 0


def missed(session: Session, tournament_ids: Iterable[int], since: int,
           late_seconds: float = LATE_COMMIT_SECONDS) -> list[Event] | None:
    """Events of these tournaments a client that has seen `since` may not have, oldest first;
    None when they cannot all be replayed (see `replayable`, `REPLAY_LIMIT`).

    Includes recent events at or below `since` too: one of them may have committed
    after the page (or the last message) that told the client `since`.
    """
    if not replayable(session, since):
        return None
    cutoff = utcnow() - timedelta(seconds=late_seconds)
    rows = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.tournament_id.in_(list(tournament_ids)),
               or_(OutboxEvent.id > since, OutboxEvent.created_at >= cutoff))
        .order_by(OutboxEvent.id.desc())
        .limit(REPLAY_LIMIT + 1)
    ).all()
    if len(rows) > REPLAY_LIMIT:
        return None
    return [Event.of(row) for row in reversed(rows)]


def replayable(session: Session, since: int) -> bool:
    """Whether the outbox still holds every event after `since`.

    Not when the oldest kept event comes later than the one right after `since`
    (pruned), nor when `since` is beyond the newest (the outbox was reset or
    restored: the client's numbers belong to another history).
    """
    oldest, newest = session.execute(
        select(func.min(OutboxEvent.id), func.max(OutboxEvent.id))).one()
    if newest is None:
        return since == 0
    return oldest <= since + 1 and since <= newest


def prune(session: Session, now: datetime, keep_seconds: float, keep_events: int) -> int:
    """Delete events older than `keep_seconds` or beyond the newest `keep_events`; never the
    newest one (it tells a reset outbox from a pruned one). Returns how many were deleted."""
    newest = current_sequence(session)
    if not newest:
        return 0
    cutoff = now - timedelta(seconds=max(keep_seconds, MIN_RETENTION_SECONDS))
    too_old = OutboxEvent.created_at < cutoff
    if keep_events:  # by count too, but never within the last minute (a busy hub's window)
        too_many = and_(OutboxEvent.id <= newest - max(keep_events, MIN_RETENTION_EVENTS),
                        OutboxEvent.created_at < now - timedelta(seconds=MIN_RETENTION_SECONDS))
        too_old = or_(too_old, too_many)
    result = session.execute(
        delete(OutboxEvent).where(OutboxEvent.id < newest, too_old)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


class Feed:
    """A cursor over the outbox that also delivers ids that committed late."""

    def __init__(self, cursor: int = 0, stamp: datetime | None = None, *,
                 late_seconds: float = LATE_COMMIT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cursor = cursor
        self._stamp = stamp  # created_at of the cursor's row: tells a reset outbox apart
        self._not_before: datetime | None = None  # after a reset: older rows were seen already
        self.missing: dict[int, float] = {}  # id -> give up after this clock time
        self._late_seconds = late_seconds
        self._clock = clock

    @classmethod
    def at_end(cls, session: Session, **options: Any) -> Feed:
        """A feed that starts after the newest committed event."""
        row = session.execute(
            select(OutboxEvent.id, OutboxEvent.created_at).order_by(OutboxEvent.id.desc()).limit(1)
        ).first()
        return cls(row.id, row.created_at, **options) if row else cls(**options)

    def read(self, session: Session, limit: int = 500) -> tuple[list[Event], bool]:
        """The next events to deliver, and whether more may be waiting right away."""
        self._detect_reset(session)
        late = self._late_arrivals(session)
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id > self.cursor)
            .order_by(OutboxEvent.id).limit(limit)
        ).all()
        deadline = self._clock() + self._late_seconds
        fresh = []
        for row in rows:
            for gap in range(max(self.cursor + 1, row.id - MAX_MISSING), row.id):
                self.missing[gap] = deadline
            self.cursor, self._stamp = row.id, row.created_at
            if self._not_before is None or row.created_at >= self._not_before:
                fresh.append(Event.of(row))
        return late + fresh, len(rows) == limit

    def _late_arrivals(self, session: Session) -> list[Event]:
        if not self.missing:
            return []
        now = self._clock()
        self.missing = {i: until for i, until in self.missing.items() if until > now}
        ids = sorted(self.missing)[:MAX_MISSING]
        if not ids:
            return []
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)
        ).all()
        for row in rows:
            del self.missing[row.id]
        return [Event.of(row) for row in rows]

    def _detect_reset(self, session: Session) -> None:
        # A restored or truncated outbox starts its ids again; without this check the
        # feed would wait for ids beyond its old cursor and skip every new event.
        if not self.cursor:
            return
        stamp = session.scalar(select(OutboxEvent.created_at).where(OutboxEvent.id == self.cursor))
        if stamp is None or stamp != self._stamp:
            # Start over, but do not deliver again what a restored backup brings back.
            if self._stamp is not None:
                self._not_before = self._stamp - timedelta(seconds=self._late_seconds)
            self.cursor, self._stamp, self.missing = 0, None, {}
