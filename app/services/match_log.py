"""The rows every match action appends — audit, timeline, outbox, notifications — as Core SQL.

These rows are written once and never read back in the same transaction, so they skip the
ORM's unit of work: one INSERT per table and action (several rows in one executemany), no
objects, and on the session's connection directly, so no autoflush either (the ORM's own
changes are written once, at the commit). This is the hot path of every report and
confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditLog, Match, MatchEvent, Notification, User, utcnow
from app.realtime import events

Entry = tuple[str, dict[str, Any]]  # a timeline entry: its kind and data
Event = events.Row  # an outbox event: type, tournament, payload
_SOON = "match_outbox_soon"  # session.info key: events waiting for `outbox`
# Built once, with their cache keys (they run on every action).
_AUDIT, _TIMELINE = insert(AuditLog.__table__), insert(MatchEvent.__table__)
_NOTIFICATIONS = insert(Notification.__table__)


def audit(row: dict[str, Any]) -> None:
    """One audit row (`services.audit.values`)."""
    _execute(_AUDIT, [{**row, "created_at": utcnow()}])


def timeline(actor: User | None, match: Match, entries: Iterable[Entry]) -> None:
    """Timeline entries of `match`, in this order."""
    now, actor_id = utcnow(), actor.id if actor else None
    rows = [{"match_id": match.id, "tournament_id": match.tournament_id, "actor_id": actor_id,
             "kind": kind, "data": data, "created_at": now} for kind, data in entries]
    if rows:
        _execute(_TIMELINE, rows)


def outbox_soon(rows: list[Event]) -> None:
    """Outbox events to write with the acting match's own (`outbox`), in the same statement;
    at the latest when the transaction commits."""
    db.session.info.setdefault(_SOON, []).extend(rows)


def outbox(rows: list[Event]) -> None:
    """Outbox events (type, tournament id, payload), published when the transaction commits.

    The same rows as `realtime.events.record` adds, in one statement (after those waiting
    from `outbox_soon`); its commit hook is told.
    """
    events.record_rows(db.session(), [*db.session.info.pop(_SOON, []), *rows])


def notifications(user_ids: Iterable[int], tournament_id: int, match_id: int, text: str) -> None:
    now = utcnow()
    rows = [{"user_id": u, "tournament_id": tournament_id, "match_id": match_id,
             "text": text[:300], "created_at": now} for u in sorted(set(user_ids))]
    if rows:
        _execute(_NOTIFICATIONS, rows)


def _execute(statement: Any, rows: list[dict[str, Any]]) -> None:
    db.session.connection().execute(statement, rows)


@event.listens_for(Session, "before_commit")
def _write_waiting(session: Session) -> None:
    if session.info.get(_SOON):  # an action that moved the bracket without its own event
        with session.no_autoflush:
            events.record_rows(session, session.info.pop(_SOON))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    # Also a savepoint's: what waits was added by the part rolled back (`outbox` empties it).
    session.info.pop(_SOON, None)
