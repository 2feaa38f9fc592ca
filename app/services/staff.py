"""Tournament staff: organizers and coordinators, managed by the tournament's organizers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import StaffMember, StaffRole, Tournament, User
from app.services import accounts, audit, permissions
from app.services.errors import Conflict, Invalid, NotAllowed, NotFound

ROLE_LABELS = {StaffRole.ORGANIZER: "Organizer", StaffRole.COORDINATOR: "Coordinator"}


def list_staff(tournament: Tournament) -> list[StaffMember]:
    """The tournament's staff: organizers first, then by username."""
    return list(
        db.session.scalars(
            select(StaffMember)
            .join(StaffMember.user)
            .where(StaffMember.tournament_id == tournament.id)
            .order_by(StaffMember.role != StaffRole.ORGANIZER, User.username)
        )
    )


def add(actor: User, tournament: Tournament, username: str, role: str | StaffRole) -> StaffMember:
    """Make the user named `username` staff of `tournament`; Invalid if unknown or already staff."""
    _lock_staff(tournament)
    _require_organizer(actor, tournament)
    role = _role(role)
    username = accounts.normalize_username(username or "")
    user = accounts.find_by_username(username) if username else None
    if user is None:
        message = f"There is no user named {username}." if username else "Enter a username."
        raise Invalid(message, {"username": message})
    if current := permissions.staff_role(user, tournament):
        raise _already_staff(user, current)
    member = StaffMember(tournament_id=tournament.id, user_id=user.id, role=role)
    try:
        with db.session.begin_nested():
            db.session.add(member)
    except IntegrityError as error:  # the same user added by a concurrent request
        raise _already_staff(user, None) from error
    audit.record(actor, "staff.added", member, tournament=tournament,
                 username=user.username, role=role.value)
    return member


def change_role(actor: User, tournament: Tournament, staff_id: int,
                role: str | StaffRole) -> StaffMember:
    """Give a staff member another role; the last organizer cannot be demoted."""
    _lock_staff(tournament)
    _require_organizer(actor, tournament)
    role = _role(role)
    member = get(tournament, staff_id)
    if member.role == role:
        return member  # already so (e.g. the form sent twice): nothing to change
    if member.role == StaffRole.ORGANIZER and _organizer_count(tournament) <= 1:
        raise Conflict(f"{member.user.display_name} is the only organizer and cannot be "
                       "demoted. Make someone else an organizer first; nothing was changed.")
    old = member.role
    member.role = role
    audit.record(actor, "staff.role_changed", member, tournament=tournament,
                 username=member.user.username, old=old.value, new=role.value)
    return member


def remove(actor: User, tournament: Tournament, staff_id: int) -> StaffMember:
    """Take someone off the staff; the last organizer cannot be removed."""
    _lock_staff(tournament)
    _require_organizer(actor, tournament)
    member = get(tournament, staff_id)
    if member.role == StaffRole.ORGANIZER and _organizer_count(tournament) <= 1:
        raise Conflict(f"{member.user.display_name} is the only organizer and cannot be "
                       "removed. Make someone else an organizer first; nothing was changed.")
    audit.record(actor, "staff.removed", member, tournament=tournament,
                 username=member.user.username, role=member.role.value)
    db.session.delete(member)
    db.session.flush()
    return member


def get(tournament: Tournament, staff_id: int) -> StaffMember:
    """The staff row `staff_id` of this tournament (NotFound for another tournament's rows)."""
    member = db.session.scalar(
        select(StaffMember)
        .where(StaffMember.id == staff_id, StaffMember.tournament_id == tournament.id)
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise NotFound("That person is not on this tournament's staff (any more).")
    return member


def _require_organizer(actor: User, tournament: Tournament) -> None:
    if not permissions.can_manage(actor, tournament):
        raise NotAllowed("Only this tournament's organizers can change its staff.")


def _role(value: str | StaffRole) -> StaffRole:
    try:
        return StaffRole(value)
    except ValueError:
        message = "Choose organizer or coordinator."
        raise Invalid(message, {"role": message}) from None


def _already_staff(user: User, role: StaffRole | None) -> Invalid:
    what = f" ({ROLE_LABELS[role].lower()})" if role else ""
    message = f"{user.username} is already on the staff{what}."
    return Invalid(message, {"username": message})


def _lock_staff(tournament: Tournament) -> None:
    # Serialize staff changes of one tournament so that two organizers removing each other
    # cannot leave it with none (a PostgreSQL row lock; SQLite serializes writers already).
    db.session.execute(
        select(Tournament.id).where(Tournament.id == tournament.id).with_for_update()
    )


def _organizer_count(tournament: Tournament) -> int:
    return db.session.scalar(
        select(func.count(StaffMember.id)).where(
            StaffMember.tournament_id == tournament.id, StaffMember.role == StaffRole.ORGANIZER
        )
    )
