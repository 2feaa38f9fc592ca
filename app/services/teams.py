"""Teams: creation, invitations, membership, captaincy and disbanding.

Every change to a team first takes the team's row lock (`_lock`), so two
requests for the same team (a double click, two captains' tabs) run one after
the other and the second sees what the first did: a repeated action is a
no-op (the function returns False / None) or a clear error, never a duplicate.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import InviteStatus, Team, TeamInvite, TeamMember, User, utcnow
from app.services import accounts, audit, permissions
from app.services.errors import Conflict, Invalid, NotAllowed, NotFound

NAME_MIN, NAME_MAX = 2, 64


# --- reading -------------------------------------------------------------------------


def my_teams(user: User) -> list[Team]:
    """The active teams `user` belongs to, by name."""
    return list(db.session.scalars(
        select(Team).join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user.id, Team.disbanded_at.is_(None))
        .order_by(func.lower(Team.name))
    ))


def invitations_for(user: User) -> list[TeamInvite]:
    """Pending invitations addressed to `user` from active teams, oldest first."""
    return list(db.session.scalars(
        select(TeamInvite).join(Team, Team.id == TeamInvite.team_id)
        .where(TeamInvite.user_id == user.id, TeamInvite.status == InviteStatus.PENDING,
               Team.disbanded_at.is_(None))
        .order_by(TeamInvite.created_at, TeamInvite.id)
    ))


def pending_invites(team: Team) -> list[TeamInvite]:
    """The team's pending invitations, oldest first."""
    return list(db.session.scalars(
        select(TeamInvite)
        .where(TeamInvite.team_id == team.id, TeamInvite.status == InviteStatus.PENDING)
        .order_by(TeamInvite.created_at, TeamInvite.id)
    ))


def pending_invite(team: Team, user: User) -> TeamInvite | None:
    """The pending invitation of `user` to `team`, if there is one."""
    return db.session.scalar(
        select(TeamInvite).where(TeamInvite.team_id == team.id, TeamInvite.user_id == user.id,
                                 TeamInvite.status == InviteStatus.PENDING)
    )


def is_member(team: Team, user: User) -> bool:
    """Whether `user` is really on the team (unlike permissions, admins are not)."""
    return _membership(team, user.id) is not None


def get_invite(invite_id: int) -> TeamInvite:
    """The invitation `invite_id`; NotFound when it does not exist or its team was disbanded."""
    invite = db.session.get(TeamInvite, invite_id, populate_existing=True)
    if invite is None or not invite.team.active:
        raise NotFound("That invitation does not exist, or its team was disbanded.")
    return invite


# --- creating ------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """Trim the name and collapse inner whitespace, so 'Red  Foxes ' is 'Red Foxes'."""
    return " ".join((name or "").split())


def create(actor: User, name: str) -> Team:
    """Create a team named `name` with `actor` as its captain and first member."""
    name = normalize_name(name)
    _validate_name(name)
    if _name_taken(name):
        raise _name_taken_error()
    team = Team(name=name, captain_id=actor.id)
    team.members.append(TeamMember(user_id=actor.id))
    try:
        with db.session.begin_nested():
            db.session.add(team)
    except IntegrityError as error:  # the same name created by a concurrent request
        raise _name_taken_error() from error
    audit.record(actor, "team.created", team, name=name)
    return team


def _validate_name(name: str) -> None:
    problem = None
    if not NAME_MIN <= len(name) <= NAME_MAX:
        problem = f"Use {NAME_MIN} to {NAME_MAX} characters."
    elif not any(ch.isalnum() for ch in name):
        problem = "Use at least one letter or digit."
    elif any(unicodedata.category(ch).startswith("C") for ch in name):
        problem = "Remove invisible or control characters."
    if problem:
        raise Invalid(f"That team name cannot be used: {problem}", {"name": problem})


def _name_taken(name: str) -> bool:
    # Disbanded teams keep their name (past registrations show it), so it stays taken.
    # Note: SQLite's lower() folds ASCII letters only; PostgreSQL folds every letter.
    return db.session.scalar(
        select(Team.id).where(func.lower(Team.name) == func.lower(name))
    ) is not None


def _name_taken_error() -> Invalid:
    message = "A team with that name already exists; choose another name."
    return Invalid(message, {"name": message})


# --- invitations ---------------------------------------------------------------------


def invite(actor: User, team: Team, username: str) -> TeamInvite:
    """Invite the user called `username`; Invalid if unknown, already a member or invited."""
    _lock(team)
    _require_captain(actor, team, "invite players")
    username = accounts.normalize_username((username or "").strip().removeprefix("@"))
    user = accounts.find_by_username(username) if username else None
    if user is None:
        raise _field_error("username", f"There is no player called “{username}”."
                           if username else "Enter the username of the player to invite.")
    if is_member(team, user):
        raise _field_error("username", f"{user.username} is already a member of {team.name}.")
    if pending_invite(team, user) is not None:
        raise _field_error("username", f"{user.username} already has a pending invitation; "
                                       "wait for their answer or cancel it first.")
    invitation = TeamInvite(team_id=team.id, user_id=user.id, invited_by_id=actor.id,
                            status=InviteStatus.PENDING)
    db.session.add(invitation)
    db.session.flush()
    audit.record(actor, "team.invited", team, invite_id=invitation.id, username=user.username)
    return invitation


def accept(actor: User, invitation: TeamInvite) -> bool:
    """Join the team; False (nothing changed) if this invitation was accepted already."""
    team = _answerable(actor, invitation)
    if invitation.status == InviteStatus.ACCEPTED:
        return False
    _require_pending(invitation, "accept")
    invitation.status = InviteStatus.ACCEPTED
    invitation.responded_at = utcnow()
    if not is_member(team, actor):
        try:
            with db.session.begin_nested():
                db.session.add(TeamMember(team_id=team.id, user_id=actor.id))
        except IntegrityError as error:  # joined through a concurrent request
            raise Conflict(f"You are already a member of {team.name}.") from error
    audit.record(actor, "team.invite_accepted", team, invite_id=invitation.id)
    db.session.expire(team, ["members"])
    return True


def decline(actor: User, invitation: TeamInvite) -> bool:
    """Say no to an invitation; False (nothing changed) if it was declined already."""
    team = _answerable(actor, invitation)
    if invitation.status == InviteStatus.DECLINED:
        return False
    _require_pending(invitation, "decline")
    invitation.status = InviteStatus.DECLINED
    invitation.responded_at = utcnow()
    audit.record(actor, "team.invite_declined", team, invite_id=invitation.id)
    return True


def cancel_invite(actor: User, team: Team, invitation: TeamInvite) -> bool:
    """Withdraw a pending invitation; False (nothing changed) if it was cancelled already."""
    _lock(team)
    _require_captain(actor, team, "cancel invitations")
    if invitation.team_id != team.id:
        raise NotFound("That invitation does not belong to this team.")
    db.session.refresh(invitation)
    if invitation.status == InviteStatus.CANCELLED:
        return False
    if invitation.status != InviteStatus.PENDING:
        raise Conflict(f"{invitation.user.username} already {invitation.status.value.lower()} "
                       "this invitation; there is nothing to cancel.")
    invitation.status = InviteStatus.CANCELLED
    audit.record(actor, "team.invite_cancelled", team, invite_id=invitation.id,
                 username=invitation.user.username)
    return True


def _answerable(actor: User, invitation: TeamInvite) -> Team:
    """Lock the invitation's team and re-read the invitation; only its invitee may answer."""
    if invitation.user_id != actor.id:
        raise NotAllowed("This invitation is addressed to someone else.")
    team = invitation.team
    _lock(team)
    db.session.refresh(invitation)
    return team


def _require_pending(invitation: TeamInvite, verb: str) -> None:
    reasons = {
        InviteStatus.ACCEPTED: "You already accepted it; to go, leave the team instead.",
        InviteStatus.DECLINED: "You declined it; ask the captain for a new invitation.",
        InviteStatus.CANCELLED: "The captain cancelled it.",
    }
    if invitation.status != InviteStatus.PENDING:
        raise Conflict(f"You can no longer {verb} this invitation to {invitation.team.name}. "
                       f"{reasons[invitation.status]}")


# --- membership and captaincy --------------------------------------------------------


def leave(actor: User, team: Team) -> bool:
    """Leave the team; False (nothing changed) if `actor` is not a member."""
    _lock(team)
    membership = _membership(team, actor.id)
    if membership is None:
        return False
    if team.captain_id == actor.id:
        raise Invalid(f"You are the captain of {team.name}: transfer captaincy to another "
                      "member before leaving, or disband the team.")
    db.session.delete(membership)
    audit.record(actor, "team.member_left", team, username=actor.username)
    db.session.flush()
    db.session.expire(team, ["members"])
    return True


def remove_member(actor: User, team: Team, user_id: int) -> User | None:
    """Remove a member and return them; None (nothing changed) if they are not on the team."""
    _lock(team)
    _require_captain(actor, team, "remove members")
    if user_id == team.captain_id:
        raise Invalid("The captain cannot be removed. Transfer captaincy first.")
    membership = _membership(team, user_id)
    if membership is None:
        return None
    removed = membership.user
    db.session.delete(membership)
    audit.record(actor, "team.member_removed", team, username=removed.username)
    db.session.flush()
    db.session.expire(team, ["members"])
    return removed


def transfer_captaincy(actor: User, team: Team, username: str) -> bool:
    """Make the member called `username` captain; False if they already are."""
    _lock(team)
    _require_captain(actor, team, "transfer captaincy")
    username = accounts.normalize_username(username or "")
    if not username:
        raise _field_error("new_captain", "Choose the member who becomes captain.")
    user = accounts.find_by_username(username)
    if user is None or not is_member(team, user):
        raise _field_error("new_captain", f"{username} is not a member of {team.name}; "
                                          "only a member can become captain.")
    if user.id == team.captain_id:
        return False
    previous = team.captain.username
    team.captain_id = user.id
    audit.record(actor, "team.captain_transferred", team, previous=previous,
                 new=user.username)
    db.session.flush()
    db.session.expire(team, ["captain"])
    return True


def disband(actor: User, team: Team) -> int:
    """Disband the team (kept for history) and cancel its pending invitations; returns how many."""
    _lock(team)
    _require_captain(actor, team, "disband the team")
    team.disbanded_at = utcnow()
    cancelled = pending_invites(team)
    for invitation in cancelled:
        invitation.status = InviteStatus.CANCELLED
    audit.record(actor, "team.disbanded", team, name=team.name,
                 cancelled_invites=len(cancelled))
    return len(cancelled)


# --- helpers -------------------------------------------------------------------------


def _lock(team: Team) -> None:
    """Take the team's row lock and re-read it; NotFound if it was disbanded meanwhile."""
    # A PostgreSQL row lock serializes changes to one team; SQLite serializes all writers.
    db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    db.session.refresh(team)
    if not team.active:
        raise NotFound(f"{team.name} was disbanded.")


def _require_captain(actor: User, team: Team, what: str) -> None:
    if not permissions.is_team_captain(actor, team):
        raise NotAllowed(f"Only the captain of {team.name} can {what}.")


def _membership(team: Team, user_id: int) -> TeamMember | None:
    return db.session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    )


def _field_error(field: str, message: str) -> Invalid:
    return Invalid(message, {field: message})
