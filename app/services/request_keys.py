"""Double-submission safety for create forms.

A create form carries a random key. The first submission stores the key with
what it created; a second submission of the same form (double click, retry
after a lost response) finds the key and gets the first result back instead
of a duplicate. The primary key makes concurrent duplicates fail, and the
caller then reads the winner with `replay`.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from app.extensions import db
from app.models import RequestKey, User

T = TypeVar("T")


def new_key() -> str:
    return secrets.token_urlsafe(24)


def replay(actor: User, key: str | None, model: type[T]) -> T | None:
    """What an earlier submission of this form by `actor` created, if any."""
    if not key:
        return None
    row = db.session.get(RequestKey, key)
    if row is None or row.user_id != actor.id or row.object_type != model.__name__:
        return None
    return db.session.get(model, row.object_id)


def remember(actor: User, key: str | None, obj: object) -> None:
    """Record that this form's submission created `obj` (flushes; may raise IntegrityError)."""
    if not key:
        return
    db.session.add(RequestKey(key=key[:64], user_id=actor.id,
                              object_type=type(obj).__name__, object_id=obj.id))
    db.session.flush()
