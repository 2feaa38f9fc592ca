"""A user's in-app notifications: what changed in their matches (scheduled, reported, ...)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification, User, utcnow

PAGE = 50


def unread(user: User) -> int:
    """How many notices `user` has not read yet."""
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def recent(user: User, limit: int = PAGE) -> list[Notification]:
    """The newest notices of `user`, newest first."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id.desc()).limit(limit)))


def mark_read(user: User, up_to: int) -> int:
    """Mark `user`'s notices up to id `up_to` read (the ones the page showed); a repeat is a
    no-op. Returns how many were marked."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.id <= up_to,
                                   Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
