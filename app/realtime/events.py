"""Recording events: services add outbox rows in their own transaction.

After the transaction commits, the broker wakes every hub (this process at
once, other processes through Redis pub/sub or their poll). A rolled-back
transaction takes its events with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import OutboxEvent

_PENDING = "outbox_pending"


def record(type_: str, *, tournament_id: int | None = None, **payload: Any) -> OutboxEvent:
    """Add an event to the current transaction; it is published when that commits."""
    row = OutboxEvent(type=type_, tournament_id=tournament_id, payload=payload)
    db.session.add(row)
    db.session.info[_PENDING] = True
    return row


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        from app.realtime import broker

        broker.notify_committed()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
