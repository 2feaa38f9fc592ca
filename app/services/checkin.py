"""Check-in: confirmed registrations say they are here before the start; no-shows are removed.

When check-in is open: from `checkin_opens_at` (set by the organizer; default
30 minutes before the start) until `checkin_closes_at` (default: the start),
while the tournament is in REGISTRATION or CHECK_IN. The time decides, not the
status: the schedule sweeper moves the tournament to CHECK_IN when the window
opens, but a sweeper that runs late must not keep players out. An organizer
who presses "Open check-in" early opens it at once (status CHECK_IN before the
window); it still closes on time.

Like registrations, every change takes the tournament's row lock first, so a
double-clicked "Check in" checks in once and the twin is a no-op.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select

from app.extensions import db
from app.models import (
    HOLDS_SLOT,
    AuditLog,
    Registration,
    RegistrationStatus,
    Status,
    Tournament,
    User,
    utcnow,
)
from app.services import audit, entrants, permissions, registrations
from app.services.entrants import checkin_window as window
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed

log = logging.getLogger(__name__)

UNDO_MINUTES = 15
NO_SHOW_REASON = "no-show"
NO_SHOWS_DONE = "tournament.no_shows_removed"  # audit action; also marks the automatic run done
__all__ = ["window", "is_open", "check_in", "undo", "can_undo", "staff_check_in",
           "staff_check_out", "remove_no_shows", "remove_due_no_shows"]


# --- reading -------------------------------------------------------------------------


def is_open(tournament: Tournament, now: datetime | None = None) -> bool:
    """Whether players can check in now (see the module docstring)."""
    now = now or utcnow()
    if tournament.status not in (Status.REGISTRATION, Status.CHECK_IN):
        return False
    opens, closes = window(tournament)
    return now < closes and (now >= opens or tournament.status == Status.CHECK_IN)


def closed(tournament: Tournament, now: datetime | None = None) -> bool:
    """Whether check-in is over (its closing time has passed)."""
    return (now or utcnow()) >= window(tournament)[1]


def undo_deadline(registration: Registration) -> datetime | None:
    """Until when its player may undo the check-in (None when not checked in)."""
    if registration.checked_in_at is None:
        return None
    return registration.checked_in_at + timedelta(minutes=UNDO_MINUTES)


def can_undo(registration: Registration, tournament: Tournament,
             now: datetime | None = None) -> bool:
    """Whether the player may still undo: within 15 minutes, while check-in is open."""
    now = now or utcnow()
    deadline = undo_deadline(registration)
    return deadline is not None and now <= deadline and is_open(tournament, now)


# --- players and captains ------------------------------------------------------------


def check_in(actor: User, registration: Registration) -> bool:
    """Check in one's own confirmed registration while check-in is open; False if it was."""
    tournament = registrations.lock_for(registration)
    _require_owner(actor, registration, "check it in")
    _require_confirmed(registration)
    if registration.checked_in_at is not None:
        return False
    _require_window(tournament)
    _mark(actor, tournament, registration, checked_in=True)
    return True


def undo(actor: User, registration: Registration) -> bool:
    """Take back one's own check-in within 15 minutes; False if not checked in."""
    tournament = registrations.lock_for(registration)
    _require_owner(actor, registration, "undo its check-in")
    if registration.checked_in_at is None:
        return False
    _require_window(tournament)
    if not can_undo(registration, tournament):
        raise Conflict(f"You checked in more than {UNDO_MINUTES} minutes ago; ask the staff "
                       "to check you out.")
    _mark(actor, tournament, registration, checked_in=False)
    return True


# --- staff ---------------------------------------------------------------------------


def staff_check_in(actor: User, registration: Registration) -> bool:
    """Staff check in a confirmed registration at any time; False if it was checked in."""
    tournament = registrations.lock_for(registration)
    _require_staff(actor, tournament)
    _require_confirmed(registration)
    if tournament.status in (Status.COMPLETED, Status.CANCELLED):
        raise Conflict(f"This tournament is {tournament.status.value.lower()}.")
    if registration.checked_in_at is not None:
        return False
    _mark(actor, tournament, registration, checked_in=True, by_staff=True)
    return True


def staff_check_out(actor: User, registration: Registration) -> bool:
    """Staff undo a check-in at any time; False if it was not checked in."""
    tournament = registrations.lock_for(registration)
    _require_staff(actor, tournament)
    if registration.checked_in_at is None:
        return False
    _mark(actor, tournament, registration, checked_in=False, by_staff=True)
    return True


def remove_no_shows(actor: User | None, tournament: Tournament) -> int:
    """After check-in closes, remove every slot-holder that did not check in; how many."""
    registrations.lock(tournament)
    if actor is not None:
        _require_staff(actor, tournament)
    if tournament.status not in (Status.REGISTRATION, Status.CHECK_IN, Status.LIVE):
        raise Conflict(f"This tournament is {tournament.status.value.lower()}; there are no "
                       "no-shows to remove.")
    if not closed(tournament):
        raise Conflict(f"Check-in is still open (it closes {_when(window(tournament)[1])}); "
                       "no-shows are removed after it closes.")
    no_shows = list(db.session.scalars(
        select(Registration).where(Registration.tournament_id == tournament.id,
                                   Registration.status.in_(HOLDS_SLOT),
                                   (Registration.checked_in_at.is_(None))
                                   | (Registration.status == RegistrationStatus.PENDING_PAYMENT))
        .order_by(Registration.id)).unique())
    by = "staff" if actor is not None else "schedule"
    for registration in no_shows:
        registrations.end(registration, RegistrationStatus.REMOVED, NO_SHOW_REASON)
        registrations.close_waiting_proofs(actor, registration, NO_SHOW_REASON)
        audit.record(actor, "registration.removed", registration, tournament=tournament,
                     reason=NO_SHOW_REASON, by=by)
    audit.record(actor, NO_SHOWS_DONE, tournament, tournament=tournament,
                 removed=len(no_shows), by=by)
    if no_shows:
        registrations.changed(tournament)
    return len(no_shows)


def remove_due_no_shows(now: datetime) -> int:
    """For tournaments that remove no-shows by themselves: do it once check-in has closed."""
    already = exists().where(AuditLog.tournament_id == Tournament.id,
                             AuditLog.action == NO_SHOWS_DONE)
    due = list(db.session.scalars(select(Tournament).where(
        Tournament.auto_remove_no_shows,
        Tournament.status.in_((Status.REGISTRATION, Status.CHECK_IN, Status.LIVE)),
        func.coalesce(Tournament.checkin_closes_at, Tournament.starts_at) <= now, ~already)))
    removed = 0
    for tournament in sorted(due, key=lambda t: t.id):
        try:  # one tournament that cannot be swept must not hold up the others
            with db.session.begin_nested():
                removed += _remove_due(tournament)
        except DomainError as error:
            log.warning("no-shows of %s not removed: %s", tournament.slug, error.message)
    return removed


def _remove_due(tournament: Tournament) -> int:
    registrations.lock(tournament)
    # Another sweeper may have done it while this one waited for the lock.
    if db.session.scalar(select(AuditLog.id).where(AuditLog.tournament_id == tournament.id,
                                                   AuditLog.action == NO_SHOWS_DONE)):
        return 0
    return remove_no_shows(None, tournament)


# --- helpers -------------------------------------------------------------------------


def _require_owner(actor: User, registration: Registration, what: str) -> None:
    if not entrants.can_act(actor, registration):
        raise NotAllowed(registrations.owner_only(registration, what))


def _require_staff(actor: User, tournament: Tournament) -> None:
    if not permissions.can_coordinate(actor, tournament):
        raise NotAllowed(f"Only the staff of {tournament.name} can check players in or out.")


def _require_confirmed(registration: Registration) -> None:
    reasons = {
        RegistrationStatus.PENDING_PAYMENT: "The entry fee is not paid yet: only paid "
                                            "registrations can check in.",
        RegistrationStatus.WAITLISTED: (
            f"{registration.name} is on the waitlist (position "
            f"{entrants.waitlist_position(registration)}); only registrations with a slot "
            "can check in."),
        RegistrationStatus.WITHDRAWN: f"{registration.name} withdrew from the tournament.",
        RegistrationStatus.REMOVED: (f"The staff removed {registration.name} "
                                     f"({registration.removal_reason})."),
    }
    if registration.status != RegistrationStatus.CONFIRMED:
        raise Invalid(reasons[registration.status])


def _require_window(tournament: Tournament) -> None:
    now = utcnow()
    if is_open(tournament, now):
        return
    opens, closes = window(tournament)
    if tournament.status not in (Status.REGISTRATION, Status.CHECK_IN) or now >= closes:
        raise Invalid(f"Check-in is closed (it closed {_when(closes)}).")
    raise Invalid(f"Check-in is not open yet: it opens {_when(opens)}.")


def _when(moment: datetime) -> str:
    return f"on {moment:%a %d %b %Y at %H:%M} UTC"


def _mark(actor: User, tournament: Tournament, registration: Registration, *,
          checked_in: bool, by_staff: bool = False) -> None:
    registration.checked_in_at = utcnow() if checked_in else None
    registration.checked_in_by_id = actor.id if checked_in else None
    registrations.flush()
    action = "registration.checked_in" if checked_in else "registration.checked_out"
    audit.record(actor, action, registration, tournament=tournament, by_staff=by_staff)
    registrations.changed(tournament)
