"""Status changes that the schedule makes by itself (run by the periodic sweeper)."""

from __future__ import annotations

from datetime import datetime

from app.services import checkin, match_schedule, results, tournaments


def sweep(now: datetime) -> int:
    """Apply every transition that is due at `now`; return how many were applied."""
    # Each removed registration, report auto-confirmed past its deadline (its job was lost or
    # late), match check-in opened and match no-show forfeited counts as one transition.
    return (tournaments.open_checkin_when_due(now) + checkin.remove_due_no_shows(now)
            + results.confirm_due(now) + match_schedule.open_due_checkins(now)
            + match_schedule.forfeit_due_no_shows(now))
