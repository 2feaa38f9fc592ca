"""Registrations: players and teams entering a tournament, the waitlist, withdrawals and removals.

Every change first takes the tournament's row lock (`lock`), so changes to one
tournament's registrations run one after the other: two requests for the last
free slot produce one slot-holder and one waitlisted registration (never two
slot-holders, never a refusal), and a double-clicked "Register" produces one
registration and a clear "already registered" for the twin. The partial unique
indexes on registrations and registration_members back this up in the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import (
    HOLDS_SLOT,
    MemberRole,
    Payment,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Status,
    Team,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, permissions, rosters
from app.services.entrants import (
    active_registration_of_team,
    can_act,
    checkin_window,
    registration_problem,
    started,
)
from app.services.errors import Conflict, Invalid, NotAllowed, NotFound

REASON_MAX = 500
STALE_MESSAGE = "This registration changed in the meantime; reload to see its current state."


# --- registering ---------------------------------------------------------------------


def register_solo(actor: User, tournament: Tournament) -> Registration:
    """Register `actor` for a solo tournament: a slot if one is free, else the waitlist."""
    lock(tournament)
    if tournament.team_based:
        raise Invalid("This is a team tournament: a captain registers the whole team.")
    _require_open(tournament)
    taken = rosters.already_registered(tournament, [actor.id])
    if taken:
        raise Invalid(f"You are already registered for {tournament.name} "
                      f"({_status_words(taken[actor.id])}).")
    _refuse_if_removed(tournament, Registration.user_id == actor.id,
                       Registration.team_id.is_(None), who="your registration")
    return _create(actor, tournament, None, [(actor.id, MemberRole.PLAYER)])


def register_team(actor: User, tournament: Tournament, team: Team, player_ids: list[int],
                  substitute_ids: list[int]) -> Registration:
    """Register `team` with its roster (the game's team size plus optional substitutes)."""
    lock(tournament)
    _lock_team(team)
    if not tournament.team_based:
        raise Invalid("This is a solo tournament: players register themselves.")
    if team.captain_id != actor.id:
        raise NotAllowed(f"Only the captain of {team.name} can register the team.")
    _require_open(tournament)
    if (existing := active_registration_of_team(tournament, team)) is not None:
        raise Invalid(f"{team.name} is already registered for {tournament.name} "
                      f"({_status_words(existing)}).")
    _refuse_if_removed(tournament, Registration.team_id == team.id, who=f"{team.name}’s entry")
    if other := db.session.scalar(select(Registration).where(
            Registration.tournament_id == tournament.id, Registration.user_id == actor.id,
            Registration.active)):
        # One registration speaks for its registrant (payment page, check-in box).
        raise Invalid(f"You already registered {other.name} for {tournament.name}; a captain "
                      "registers one team per tournament.")
    players, substitutes = _unique(player_ids), _unique(substitute_ids)
    rosters.validate(tournament, team, players, substitutes)
    roster_ = [(i, MemberRole.PLAYER) for i in players]
    roster_ += [(i, MemberRole.SUBSTITUTE) for i in substitutes]
    return _create(actor, tournament, team, roster_)


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


def _refuse_if_removed(tournament: Tournament, *where, who: str) -> None:
    """Staff removed the latest such registration: only they may bring it back (reinstate)."""
    latest = db.session.scalar(
        select(Registration).where(Registration.tournament_id == tournament.id, *where)
        .order_by(Registration.id.desc()).limit(1))
    if latest is not None and latest.status == RegistrationStatus.REMOVED:
        raise Invalid(f"The staff removed {who} ({latest.removal_reason}); ask them to "
                      "reinstate it.")


def _create(actor: User, tournament: Tournament, team: Team | None,
            members: list[tuple[int, MemberRole]]) -> Registration:
    _promote(tournament)  # nobody jumps the queue when a slot was already free
    registration = Registration(tournament_id=tournament.id, user_id=actor.id,
                                team_id=team.id if team else None, active=True,
                                status=_new_status(tournament))
    registration.members = [RegistrationMember(tournament_id=tournament.id, user_id=user_id,
                                               role=role, active=True)
                            for user_id, role in members]
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError as error:  # a concurrent twin the lock did not serialize
        raise _registered_meanwhile(tournament, [m for m, _ in members]) from error
    audit.record(actor, "registration.created", registration, tournament=tournament,
                 status=registration.status.value, team=team.name if team else None,
                 players=[m for m, r in members if r == MemberRole.PLAYER],
                 substitutes=[m for m, r in members if r == MemberRole.SUBSTITUTE])
    changed(tournament)
    return registration


def _registered_meanwhile(tournament: Tournament, user_ids: list[int]) -> Invalid:
    taken = rosters.already_registered(tournament, user_ids)
    message = (rosters.taken_message(taken, rosters.user_names(user_ids)) if taken else
               "This team was registered at the same moment by another request.")
    return Invalid(message, {"players": message})


def _new_status(tournament: Tournament) -> RegistrationStatus:
    if _slots_taken(tournament) >= tournament.capacity:
        return RegistrationStatus.WAITLISTED
    return (RegistrationStatus.PENDING_PAYMENT if tournament.entry_fee > 0
            else RegistrationStatus.CONFIRMED)


def _slot_status(tournament: Tournament, registration: Registration) -> RegistrationStatus:
    """The status of a registration that gets a slot: paid ones (or free entry) are confirmed."""
    if tournament.entry_fee <= 0 or has_verified_payment(registration):
        return RegistrationStatus.CONFIRMED
    return RegistrationStatus.PENDING_PAYMENT


def has_verified_payment(registration: Registration) -> bool:
    """Whether an entry fee payment of this registration counts (verified, not refunded)."""
    return db.session.scalar(select(Payment.id).where(
        Payment.registration_id == registration.id,
        Payment.status == PaymentStatus.VERIFIED).limit(1)) is not None


def _slots_taken(tournament: Tournament) -> int:
    return db.session.scalar(select(func.count()).where(
        Registration.tournament_id == tournament.id, Registration.status.in_(HOLDS_SLOT)))


def _status_words(registration: Registration) -> str:
    return {RegistrationStatus.PENDING_PAYMENT: "your slot waits for the entry fee",
            RegistrationStatus.CONFIRMED: "confirmed",
            RegistrationStatus.WAITLISTED: "on the waitlist"}.get(
        registration.status, registration.status.value.lower())


# --- leaving, removal, reinstating ---------------------------------------------------


def withdraw(actor: User, registration: Registration) -> bool:
    """Withdraw before the start (refunding a paid fee); False if it was withdrawn already."""
    tournament = lock_for(registration)
    if not can_act(actor, registration):
        raise NotAllowed(owner_only(registration, "withdraw it"))
    if registration.status == RegistrationStatus.WITHDRAWN:
        return False
    if registration.status == RegistrationStatus.REMOVED:
        raise Conflict("The staff already removed this registration "
                       f"({registration.removal_reason}); there is nothing to withdraw.")
    if tournament.status == Status.CANCELLED:
        raise Conflict("This tournament was cancelled; there is nothing to withdraw from.")
    if started(tournament):
        raise Conflict("The tournament has started: you can no longer withdraw. "
                       "Ask the staff if you cannot play.")
    held_slot = registration.holds_slot
    end(registration, RegistrationStatus.WITHDRAWN)
    refunded = _refund_if_paid(actor, registration)
    audit.record(actor, "registration.withdrawn", registration, tournament=tournament,
                 refunded_payments=refunded)
    if held_slot:
        _promote(tournament)
    changed(tournament)
    return True


def remove(actor: User, registration: Registration, reason: str) -> bool:
    """Staff take a registration out with a reason; False if it was removed already."""
    tournament = lock_for(registration)
    _require_staff(actor, tournament, "remove registrations")
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Say why the registration is removed; the player sees the reason.",
                      {"reason": "Enter the reason for the removal."})
    if len(reason) > REASON_MAX:
        raise Invalid("The reason is too long.", {"reason": f"Use at most {REASON_MAX} "
                                                            "characters."})
    if registration.status == RegistrationStatus.REMOVED:
        return False
    if registration.status == RegistrationStatus.WITHDRAWN:
        raise Conflict(f"{registration.name} already withdrew; there is nothing to remove.")
    held_slot = registration.holds_slot
    end(registration, RegistrationStatus.REMOVED, reason)
    close_waiting_proofs(actor, registration, f"registration removed: {reason}")
    audit.record(actor, "registration.removed", registration, tournament=tournament,
                 reason=reason)
    if held_slot:
        _promote(tournament)
    changed(tournament)
    return True


def reinstate(actor: User, registration: Registration) -> bool:
    """Staff bring back a removed registration: to a free slot, else the waitlist."""
    tournament = lock_for(registration)
    _require_staff(actor, tournament, "reinstate registrations")
    if registration.active:
        return False
    if registration.status == RegistrationStatus.WITHDRAWN:
        raise Conflict(f"{registration.name} withdrew; only removed registrations can be "
                       "reinstated (they can register again).")
    if tournament.status in (Status.COMPLETED, Status.CANCELLED):
        raise Conflict(f"This tournament is {tournament.status.value.lower()}.")
    _refuse_reinstate_if_taken(tournament, registration)
    _promote(tournament)
    slot = _slots_taken(tournament) < tournament.capacity
    registration.status = (_slot_status(tournament, registration) if slot
                           else RegistrationStatus.WAITLISTED)
    registration.removal_reason = None
    registration.checked_in_at = registration.checked_in_by_id = None
    _set_active(registration, True)
    try:  # the caller's transaction (or the bulk action's savepoint) is rolled back on error
        db.session.flush()
    except IntegrityError as error:
        raise Conflict(f"A player of {registration.name} was registered again meanwhile; "
                       "nothing changed.") from error
    except StaleDataError as error:
        raise Conflict(STALE_MESSAGE) from error
    audit.record(actor, "registration.reinstated", registration, tournament=tournament,
                 status=registration.status.value)
    changed(tournament)
    return True


def _refuse_reinstate_if_taken(tournament: Tournament, registration: Registration) -> None:
    if registration.team_id is not None and (
            other := active_registration_of_team(tournament, registration.team)):
        raise Conflict(f"{registration.team.name} has registered again meanwhile "
                       f"({_status_words(other)}); reinstating would enter it twice.")
    taken = rosters.already_registered(tournament, [m.user_id for m in registration.members])
    if taken:
        names = {m.user_id: m.user.display_name for m in registration.members}
        raise Conflict("Cannot reinstate: " + rosters.taken_message(taken, names))


def set_paid(registration: Registration, paid: bool) -> None:
    """Mark a slot-holding registration paid (CONFIRMED) or unpaid (PENDING_PAYMENT).

    Only confirmed registrations may be checked in, so losing the payment (a refund)
    also undoes the check-in: the registration must pay and check in again.
    """
    if registration.status not in HOLDS_SLOT:
        return
    registration.status = (RegistrationStatus.CONFIRMED if paid
                           else RegistrationStatus.PENDING_PAYMENT)
    if not paid:
        registration.checked_in_at = None
        registration.checked_in_by_id = None


def promote_waitlist(tournament: Tournament) -> list[Registration]:
    """Give free slots to waitlisted registrations, oldest first, until check-in closes."""
    lock(tournament)
    promoted = _promote(tournament)
    if promoted:
        changed(tournament)
    return promoted


def _promote(tournament: Tournament) -> list[Registration]:
    """Fill free slots from the waitlist (the caller holds the lock and records the event)."""
    if tournament.status not in (Status.REGISTRATION, Status.CHECK_IN):
        return []
    # A slot given after check-in closed could never be checked in: it would be a no-show.
    if utcnow() >= checkin_window(tournament)[1]:
        return []
    free = tournament.capacity - _slots_taken(tournament)
    if free <= 0:
        return []
    promoted = list(db.session.scalars(
        select(Registration).where(Registration.tournament_id == tournament.id,
                                   Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.id).limit(free)).unique())
    for registration in promoted:
        registration.status = _slot_status(tournament, registration)
        audit.record(None, "registration.promoted", registration, tournament=tournament,
                     status=registration.status.value)
    return promoted


def settings_changed(tournament: Tournament) -> None:
    """After an organizer edits the fee or the capacity: confirm and promote what now fits.

    A tournament that became free confirms the registrations still owing a fee; a larger
    capacity gives its new slots to the waitlist. The caller holds the tournament's lock.
    """
    if tournament.entry_fee == 0:
        owing = db.session.scalars(select(Registration).where(
            Registration.tournament_id == tournament.id,
            Registration.status == RegistrationStatus.PENDING_PAYMENT)).unique()
        for registration in owing:
            registration.status = RegistrationStatus.CONFIRMED
            audit.record(None, "registration.confirmed", registration, tournament=tournament,
                         reason="the entry fee was removed")
    _promote(tournament)
    changed(tournament)


# --- helpers -------------------------------------------------------------------------


# Built once (every advancing match action on PostgreSQL runs it too). FOR NO KEY UPDATE
# (`key_share`), the lock an UPDATE of the row takes: writers of the tournament queue on it,
# but rows that only refer to the tournament (a report's timeline, audit and notification
# rows, whose foreign keys take FOR KEY SHARE) are written meanwhile. FOR UPDATE would make
# every such insert wait for the lock, and hold the lock back from the next writer until
# its transaction ended: one result at a time in the whole tournament (bench/results.py).
_LOCK_TOURNAMENT = (select(Tournament).where(Tournament.id == bindparam("id"))
                    .with_for_update(of=Tournament, key_share=True)  # not the game's row
                    .execution_options(populate_existing=True))


def lock(tournament: Tournament) -> None:
    """Take the tournament's row lock and re-read it (SQLite: the write lock is held already)."""
    # Fetched, not just executed: the ORM refreshes the instance as it reads the row.
    db.session.scalars(_LOCK_TOURNAMENT, {"id": tournament.id}).one()


def lock_for(registration: Registration) -> Tournament:
    """Lock the registration's tournament, then re-read the registration as it is now."""
    tournament = db.session.get(Tournament, registration.tournament_id)
    lock(tournament)
    db.session.refresh(registration)
    return tournament


def _lock_team(team: Team) -> None:
    db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    db.session.refresh(team)
    if not team.active:
        raise NotFound(f"{team.name} was disbanded.")


def _require_open(tournament: Tournament) -> None:
    if problem := registration_problem(tournament):
        raise Invalid(problem)


def _require_staff(actor: User, tournament: Tournament, what: str) -> None:
    if not permissions.can_coordinate(actor, tournament):
        raise NotAllowed(f"Only the staff of {tournament.name} can {what}.")


def owner_only(registration: Registration, what: str) -> str:
    """The refusal for someone who does not speak for the registration."""
    if registration.team_id is not None:
        return f"Only the captain of {registration.team.name} can {what}."
    return f"This is {registration.user.display_name}’s registration; only they can {what}."


def end(registration: Registration, status: RegistrationStatus,
        reason: str | None = None) -> None:
    """Give the registration an ended status and free its players (the caller audits)."""
    registration.status = status
    registration.removal_reason = reason
    _set_active(registration, False)
    flush()


def flush() -> None:
    """Write pending changes; a registration changed meanwhile (version check) is a Conflict."""
    try:
        db.session.flush()
    except StaleDataError as error:  # changed by a request that did not take the lock
        raise Conflict(STALE_MESSAGE) from error


def _set_active(registration: Registration, active: bool) -> None:
    # The partial unique indexes read these flags: they must follow the status.
    registration.active = active
    for member in registration.members:
        member.active = active


def _refund_if_paid(actor: User, registration: Registration) -> int:
    """Give back a paid entry fee and close a proof still waiting; how many were refunded."""
    open_payment = db.session.scalar(select(Payment.id).where(
        Payment.registration_id == registration.id,
        Payment.status.in_((PaymentStatus.SUBMITTED, PaymentStatus.VERIFIED))).limit(1))
    if open_payment is None:
        return 0
    from app.services import payments  # payments marks registrations paid: a two-way link

    return payments.refund_all(actor, registration, "withdrawn")


def close_waiting_proofs(actor: User | None, registration: Registration, note: str) -> None:
    """A registration that left keeps no payment proof waiting in the staff's queue."""
    from app.services import payments  # payments marks registrations paid: a two-way link

    payments.close_waiting(actor, registration, note)


def changed(tournament: Tournament) -> None:
    """Record the event that live participant lists and counters follow."""
    events.record("registrations_changed", tournament_id=tournament.id)
