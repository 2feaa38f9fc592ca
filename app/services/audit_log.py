"""Reading a tournament's audit log: newest first, filtered, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Tournament, User
from app.services import accounts

PAGE_SIZE = 50
MAX_SUMMARY = 120


@dataclass(frozen=True)
class LogPage:
    """One page of entries; `older` is the cursor for the next page (None on the last)."""

    entries: list[AuditLog]
    older: int | None
    actor_known: bool = True


def page(
    tournament: Tournament,
    *,
    action: str | None = None,
    actor: str | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """Entries of `tournament` with id below `before`, newest first, optionally filtered."""
    query = select(AuditLog).where(AuditLog.tournament_id == tournament.id)
    if action:
        query = query.where(AuditLog.action == action)
    if actor:
        user = accounts.find_by_username(actor)
        if user is None:
            return LogPage([], None, actor_known=False)
        query = query.where(AuditLog.actor_id == user.id)
    if before is not None:
        query = query.where(AuditLog.id < before)
    # One row more than shown tells whether an older page exists, without a count.
    rows = list(db.session.scalars(query.order_by(AuditLog.id.desc()).limit(limit + 1)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return LogPage(rows[:limit], older)


def actions(tournament: Tournament) -> list[str]:
    """The distinct actions present in the tournament's log, for the filter."""
    return list(
        db.session.scalars(
            select(AuditLog.action)
            .where(AuditLog.tournament_id == tournament.id)
            .distinct()
            .order_by(AuditLog.action)
        )
    )


def actors(tournament: Tournament) -> list[User]:
    """The users who appear as actors in the tournament's log, for the filter."""
    actor_ids = (
        select(AuditLog.actor_id).where(AuditLog.tournament_id == tournament.id).distinct()
    )
    return list(
        db.session.scalars(select(User).where(User.id.in_(actor_ids)).order_by(User.username))
    )


def summarize(meta: dict[str, Any] | None) -> str:
    """A short one-line `key: value` summary of an entry's metadata."""
    text = "; ".join(f"{key}: {_text(value)}" for key, value in (meta or {}).items())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value)) or "none"
    return str(value)
