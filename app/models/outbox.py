"""The transactional outbox: events recorded in the same transaction as their change."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class OutboxEvent(Timestamped, Base):
    """One fact that happened; its id is the event's sequence number."""

    __tablename__ = "outbox_events"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(String(48))
    # Every room lives inside a tournament; None means a site-wide event.
    tournament_id: Mapped[int | None] = mapped_column(index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
