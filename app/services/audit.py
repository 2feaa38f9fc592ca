"""Append-only audit records of sensitive actions."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from app.extensions import db
from app.models import AuditLog, Tournament, User

_client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def set_client_ip(ip: str | None) -> None:
    """Remember the client address of the current request for audit rows."""
    _client_ip.set(ip)


def record(
    actor: User | None,
    action: str,
    obj: Any = None,
    *,
    tournament: Tournament | None = None,
    **meta: Any,
) -> AuditLog:
    """Add an audit row to the current transaction (the caller commits)."""
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()
    row = AuditLog(**values(actor, action, obj, tournament=tournament, **meta))
    db.session.add(row)
    return row


def values(actor: User | None, action: str, obj: Any = None, *,
           tournament: Tournament | None = None, **meta: Any) -> dict[str, Any]:
    """The columns of an audit row (for hot paths that insert it as one Core statement)."""
    return {"actor_id": actor.id if actor else None, "action": action,
            "object_type": type(obj).__name__.lower() if obj is not None else "site",
            "object_id": getattr(obj, "id", None),
            "tournament_id": tournament.id if tournament else None, "meta": meta,
            "ip": _client_ip.get()}
