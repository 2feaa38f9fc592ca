"""Status changes that the schedule makes by itself (run by the periodic sweeper)."""

from __future__ import annotations

from datetime import datetime

from app.services import tournaments


def sweep(now: datetime) -> int:
    """Apply every transition that is due at `now`; return how many were applied."""
    return tournaments.open_checkin_when_due(now)
