"""Job functions for tests/integration/test_jobs.py (importable by a worker process)."""

from __future__ import annotations

from app.extensions import db
from app.services import audit


def record_audit(action: str, **meta: object) -> None:
    """Write an audit row through the service, then commit, as a real job does."""
    audit.record(None, action, **meta)
    db.session.commit()


def fail(message: str) -> None:
    """A job that always fails."""
    raise RuntimeError(message)
