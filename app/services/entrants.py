"""Who is entered in a tournament, and what a viewer may do about it (reads only).

The participant list, the counters, the waitlist positions, the viewer's own
registration box and the windows in which registering and checking in are open.
Every change to registrations lives in `app.services.registrations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    ACTIVE,
    HOLDS_SLOT,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Status,
    Team,
    Tournament,
    User,
    utcnow,
)
from app.services.errors import NotFound

CHECKIN_DEFAULT = timedelta(minutes=30)



def get(tournament: Tournament, registration_id: int) -> Registration:
    """Registration `registration_id` of this tournament; NotFound for any other."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.tournament_id != tournament.id:
        raise NotFound("There is no such registration in this tournament.")
    return registration


def counts(tournament: Tournament) -> dict:
    """{"registered", "capacity", "waitlisted", "checked_in"} for the tournament's counters."""
    rows = dict(db.session.execute(
        select(Registration.status, func.count()).where(Registration.tournament_id == tournament.id)
        .group_by(Registration.status)).all())
    checked_in = db.session.scalar(select(func.count()).where(
        Registration.tournament_id == tournament.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        Registration.checked_in_at.is_not(None)))
    return {"registered": sum(rows.get(s, 0) for s in HOLDS_SLOT),
            "capacity": tournament.capacity,
            "waitlisted": rows.get(RegistrationStatus.WAITLISTED, 0),
            "checked_in": checked_in}


@dataclass
class Roster:
    """What the public participant list shows: counters, slot-holders and the waitlist."""

    counts: dict
    entrants: list[Registration] = field(default_factory=list)
    waitlist: list[Registration] = field(default_factory=list)


def roster(tournament: Tournament) -> Roster:
    """The tournament's active registrations in registration order, with its counters."""
    active = list(db.session.scalars(
        select(Registration).where(Registration.tournament_id == tournament.id,
                                   Registration.status.in_(ACTIVE))
        .options(selectinload(Registration.members))
        .order_by(Registration.id)).unique())
    return Roster(counts=counts(tournament),
                  entrants=[r for r in active if r.holds_slot],
                  waitlist=[r for r in active if r.status == RegistrationStatus.WAITLISTED])


def waitlist_position(registration: Registration) -> int | None:
    """1 for the next registration to be promoted; None when it is not waitlisted."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    return db.session.scalar(select(func.count()).where(
        Registration.tournament_id == registration.tournament_id,
        Registration.status == RegistrationStatus.WAITLISTED,
        Registration.id <= registration.id))


def registrations_of(tournament: Tournament, user: User) -> list[Registration]:
    """What `user` should see of their own: active registrations they play in, registered
    or captain; when there is none, their latest removed one (to say why)."""
    plays = exists().where(RegistrationMember.registration_id == Registration.id,
                           RegistrationMember.user_id == user.id)
    captains = select(Team.id).where(Team.captain_id == user.id)
    theirs = list(db.session.scalars(
        select(Registration).where(
            Registration.tournament_id == tournament.id,
            or_(plays, Registration.user_id == user.id, Registration.team_id.in_(captains)))
        .order_by(Registration.id.desc())).unique())
    active = [r for r in reversed(theirs) if r.active]
    if active or not theirs:
        return active
    return [theirs[0]] if theirs[0].status == RegistrationStatus.REMOVED else []


def can_act(user: User | None, registration: Registration) -> bool:
    """Whether `user` speaks for the registration: its player, or its team's captain."""
    if user is None or not user.is_authenticated:
        return False
    if registration.team_id is not None:
        return registration.team.captain_id == user.id
    return registration.user_id == user.id


def captained_teams(user: User) -> list[Team]:
    """The active teams `user` captains, by name."""
    return list(db.session.scalars(
        select(Team).where(Team.captain_id == user.id, Team.disbanded_at.is_(None))
        .order_by(func.lower(Team.name))).unique())


def latest_of_team(tournament: Tournament, team: Team) -> Registration | None:
    """The team's most recent registration here, whatever its status."""
    return db.session.scalar(
        select(Registration).where(Registration.tournament_id == tournament.id,
                                   Registration.team_id == team.id)
        .order_by(Registration.id.desc()).limit(1))


def active_registration_of_team(tournament: Tournament, team: Team) -> Registration | None:
    """The team's active registration here, if any."""
    return db.session.scalar(select(Registration).where(
        Registration.tournament_id == tournament.id, Registration.team_id == team.id,
        Registration.active))


def registration_problem(tournament: Tournament, now: datetime | None = None) -> str | None:
    """Why nobody can register right now, or None when registration is open."""
    now = now or utcnow()
    if tournament.status == Status.CANCELLED:
        return "This tournament was cancelled."
    if tournament.status != Status.REGISTRATION:
        stage = {Status.DRAFT: "not published yet", Status.CHECK_IN: "in check-in",
                 Status.LIVE: "under way", Status.COMPLETED: "over"}[tournament.status]
        return f"Registration is closed: the tournament is {stage}."
    if tournament.registration_opens_at and now < tournament.registration_opens_at:
        return f"Registration opens {_when(tournament.registration_opens_at)}."
    if now >= _registration_closes(tournament):
        return f"Registration closed {_when(_registration_closes(tournament))}."
    return None


def _registration_closes(tournament: Tournament) -> datetime:
    return (tournament.registration_closes_at or tournament.checkin_opens_at
            or tournament.starts_at)


def _when(moment: datetime) -> str:
    return f"on {moment:%a %d %b %Y at %H:%M} UTC"


def checkin_window(tournament: Tournament) -> tuple[datetime, datetime]:
    """When check-in opens and closes (defaults: 30 minutes before the start, the start)."""
    closes = tournament.checkin_closes_at or tournament.starts_at
    return tournament.checkin_opens_at or closes - CHECKIN_DEFAULT, closes


def started(tournament: Tournament, now: datetime | None = None) -> bool:
    """Whether the tournament has begun (or ended): past its start, live or over."""
    return (tournament.status in (Status.LIVE, Status.COMPLETED, Status.CANCELLED)
            or (now or utcnow()) >= tournament.starts_at)
