"""Recording events: services add outbox rows in their own transaction.

After the transaction commits, the broker wakes every hub (this process at
once, other processes through Redis pub/sub or their poll). A rolled-back
transaction takes its events with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import OutboxEvent, utcnow

_PENDING = "outbox_pending"
INSERT = insert(OutboxEvent.__table__)  # built once: hot paths write events in bulk
Row = tuple[str, int | None, dict[str, Any]]  # type, tournament id, payload


def record(type_: str, *, tournament_id: int | None = None, **payload: Any) -> OutboxEvent:
    """Add an event to the current transaction; it is published when that commits."""
    row = OutboxEvent(type=type_, tournament_id=tournament_id, payload=payload)
    db.session.add(row)
    db.session.info[_PENDING] = True
    return row


def record_rows(session: Session, rows: Iterable[Row]) -> None:
    """The same events as `record`, in one INSERT on the session's connection (no ORM
    objects, no autoflush); published when the transaction commits."""
    if found := values(rows):
        session.connection().execute(INSERT, found)
        will_publish(session)


def values(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """The outbox table's rows of these events, for a caller that inserts them itself."""
    now = utcnow()
    return [{"type": type_, "tournament_id": tournament_id, "payload": payload,
             "created_at": now} for type_, tournament_id, payload in rows]


def will_publish(session: Session) -> None:
    """Events were written in this transaction: publish when it commits."""
    session.info[_PENDING] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        from app.realtime import broker

        broker.notify_committed()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
