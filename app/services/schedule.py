"""Status changes that the schedule makes by itself (run by the periodic sweeper)."""

from __future__ import annotations

from datetime import datetime

from app.services import checkin, results, tournaments
from app.services import match_control as control


def sweep(now: datetime) -> int:
    """Apply every transition that is due at `now`; return how many were applied."""
    # No-shows count as transitions: each removed registration is one; so does each report
    # auto-confirmed past its deadline (its job was lost or late).
    return (tournaments.open_checkin_when_due(now) + checkin.remove_due_no_shows(now)
            + results.confirm_due(now) + control.open_due_checkins(now))
