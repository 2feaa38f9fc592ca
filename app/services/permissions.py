"""Who may do what: the one place that answers role questions about an object."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Registration,
    RegistrationMember,
    StaffMember,
    StaffRole,
    Status,
    Team,
    TeamMember,
    Tournament,
    User,
    Visibility,
)


def _signed_in(user: User | None) -> bool:
    return user is not None and user.is_authenticated


def staff_role(user: User | None, tournament: Tournament) -> StaffRole | None:
    """The user's staff role in `tournament`, if any."""
    if not _signed_in(user):
        return None
    return db.session.scalar(
        select(StaffMember.role).where(
            StaffMember.tournament_id == tournament.id, StaffMember.user_id == user.id
        )
    )


def can_manage(user: User | None, tournament: Tournament) -> bool:
    """Organizers of this tournament and site admins."""
    if not _signed_in(user):
        return False
    return user.is_admin or staff_role(user, tournament) == StaffRole.ORGANIZER


def can_coordinate(user: User | None, tournament: Tournament) -> bool:
    """Any staff of this tournament (organizer or coordinator) and site admins."""
    if not _signed_in(user):
        return False
    return user.is_admin or staff_role(user, tournament) is not None


def is_participant(user: User | None, tournament: Tournament) -> bool:
    """Whether the user plays in, or registered (as captain), an active registration."""
    if not _signed_in(user):
        return False
    on_roster = select(RegistrationMember.id).where(
        RegistrationMember.tournament_id == tournament.id,
        RegistrationMember.user_id == user.id,
        RegistrationMember.active,
    )
    registrant = select(Registration.id).where(
        Registration.tournament_id == tournament.id,
        Registration.user_id == user.id,
        Registration.active,
    )
    return db.session.scalar(on_roster.union_all(registrant).limit(1)) is not None


def can_view(user: User | None, tournament: Tournament) -> bool:
    """Public and unlisted tournaments are open to anyone with the link; drafts to staff."""
    if tournament.status == Status.DRAFT:
        return can_coordinate(user, tournament)
    if tournament.visibility != Visibility.PRIVATE:
        return True
    return can_coordinate(user, tournament) or is_participant(user, tournament)


def is_team_member(user: User | None, team: Team) -> bool:
    if not _signed_in(user):
        return False
    return user.is_admin or db.session.scalar(
        select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    ) is not None


def is_team_captain(user: User | None, team: Team) -> bool:
    return _signed_in(user) and (user.is_admin or team.captain_id == user.id)
