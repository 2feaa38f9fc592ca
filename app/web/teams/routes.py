"""Teams: create, invite, join, leave, captaincy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.extensions import db
from app.models import Team
from app.services import permissions, teams
from app.services.errors import Conflict, Invalid
from app.web.access import SIGNED_IN, TEAM_CAPTAIN, requires
from app.web.forms import submit
from app.web.teams.forms import ActionForm, CreateTeamForm, DisbandForm, InviteForm, TransferForm

bp = Blueprint("teams", __name__, url_prefix="/teams")
T = TypeVar("T")


# --- pages ---------------------------------------------------------------------------


def _team_url(team: Team) -> str:
    # A form posted to "…#invite" would keep that fragment through the redirect and scroll
    # past the flash message; "#top" is the top of any page.
    return url_for("teams.show", team_id=team.id, _anchor="top")


def _index_page(form: CreateTeamForm | None = None, status: int = 200, error: str | None = None):
    return render_template(
        "pages/teams/index.html", teams=teams.my_teams(current_user),
        invites=teams.invitations_for(current_user), form=form or CreateTeamForm(formdata=None),
        action=ActionForm(), error=error,
    ), status


def _transfer_form(team: Team, formdata: bool = False) -> TransferForm:
    form = TransferForm() if formdata else TransferForm(formdata=None)
    others = [m.user for m in team.members if m.user_id != team.captain_id]
    form.new_captain.choices = [("", "Choose a member…")] + [
        (u.username, f"{u.display_name} (@{u.username})") for u in others]
    return form


def _team_page(team: Team, status: int = 200, error: str | None = None, **forms):
    """The team page; `forms` replaces a form by its submitted version (with errors)."""
    member = teams.is_member(team, current_user)
    captain_tools = permissions.is_team_captain(current_user, team)
    context = dict(
        team=team, is_member=member, is_captain=team.captain_id == current_user.id,
        manage=captain_tools, my_invite=teams.pending_invite(team, current_user),
        invites=teams.pending_invites(team) if member or captain_tools else None,
        invite_form=InviteForm(formdata=None), transfer_form=_transfer_form(team),
        disband_form=DisbandForm(formdata=None), action=ActionForm(), error=error,
    )
    context.update(forms)
    return render_template("pages/teams/show.html", **context), status


@bp.get("/")
@requires(SIGNED_IN)
def index():
    """The user's teams and invitations, and the form to create a team."""
    return _index_page()


@bp.get("/<int:team_id>")
@requires(SIGNED_IN)
def show(team):
    """A team: captain, members and (for its members) pending invitations."""
    return _team_page(team)


# --- forms ---------------------------------------------------------------------------


@bp.post("/")
@requires(SIGNED_IN)
def create():
    """Create a team; the creator becomes its captain."""
    form = CreateTeamForm()
    done = submit(form, lambda: teams.create(current_user, form.name.data))
    if done.ok:
        flash(f"Team {done.value.name} created. Invite your players below.", "success")
        return redirect(_team_url(done.value))
    return _index_page(form, 400)


@bp.post("/<int:team_id>/invites")
@requires(TEAM_CAPTAIN)
def invite(team):
    """Invite a player by username."""
    form = InviteForm()
    done = submit(form, lambda: teams.invite(current_user, team, form.username.data))
    if done.ok:
        flash(f"Invitation sent to {done.value.user.username}.", "success")
        return redirect(_team_url(team))
    return _team_page(team, 400, invite_form=form)


@bp.post("/<int:team_id>/captain")
@requires(TEAM_CAPTAIN)
def transfer(team):
    """Hand the captaincy to another member."""
    form = _transfer_form(team, formdata=True)
    done = submit(form, lambda: teams.transfer_captaincy(current_user, team,
                                                         form.new_captain.data))
    if done.ok:
        flash(f"{team.captain.display_name} is now the captain of {team.name}." if done.value
              else f"{team.captain.display_name} is already the captain.", "success")
        return redirect(_team_url(team))
    return _team_page(team, 400, transfer_form=form)


@bp.post("/<int:team_id>/disband")
@requires(TEAM_CAPTAIN)
def disband(team):
    """Disband the team for good (it stays in past results)."""
    form = DisbandForm()
    if not form.validate_on_submit():
        return _team_page(team, 400, disband_form=form)
    name = team.name
    teams.disband(current_user, team)
    db.session.commit()
    flash(f"{name} was disbanded; its pending invitations were cancelled.", "success")
    return redirect(url_for("teams.index"))


# --- buttons -------------------------------------------------------------------------


@bp.post("/invites/<int:invite_id>/accept")
@requires(SIGNED_IN)
def accept(invite_id: int):
    """Accept an invitation addressed to the current user and join the team."""
    invitation = teams.get_invite(invite_id)
    try:
        changed = teams.accept(current_user, invitation)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        return _index_page(status=error.status, error=error.message)
    team = invitation.team
    flash(f"Welcome to {team.name}!" if changed else f"You are already in {team.name}.",
          "success" if changed else "info")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.post("/invites/<int:invite_id>/decline")
@requires(SIGNED_IN)
def decline(invite_id: int):
    """Decline an invitation addressed to the current user."""
    invitation = teams.get_invite(invite_id)
    try:
        changed = teams.decline(current_user, invitation)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        return _index_page(status=error.status, error=error.message)
    name = invitation.team.name
    flash(f"You declined the invitation to {name}." if changed
          else f"You had already declined the invitation to {name}.", "info")
    return redirect(url_for("teams.index"))


@bp.post("/<int:team_id>/invites/<int:invite_id>/cancel")
@requires(TEAM_CAPTAIN)
def cancel_invite(team, invite_id: int):
    """Withdraw a pending invitation."""
    invitation = teams.get_invite(invite_id)
    username = invitation.user.username
    changed, refusal = _run(team, lambda: teams.cancel_invite(current_user, team, invitation))
    if refusal:
        return refusal
    flash(f"The invitation to {username} was cancelled." if changed
          else f"The invitation to {username} was already cancelled.",
          "success" if changed else "info")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.post("/<int:team_id>/members/<int:user_id>/remove")
@requires(TEAM_CAPTAIN)
def remove_member(team, user_id: int):
    """Remove a member from the team."""
    removed, refusal = _run(team, lambda: teams.remove_member(current_user, team, user_id))
    if refusal:
        return refusal
    flash(f"{removed.display_name} was removed from {team.name}." if removed
          else "That player is not in the team (any more); nothing changed.",
          "success" if removed else "info")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.post("/<int:team_id>/leave")
@requires(SIGNED_IN)
def leave(team):
    """Leave the team (the captain must hand over captaincy first)."""
    changed, refusal = _run(team, lambda: teams.leave(current_user, team))
    if refusal:
        return refusal
    flash(f"You left {team.name}." if changed else f"You are not a member of {team.name}.",
          "success" if changed else "info")
    return redirect(url_for("teams.index"))


def _run(team: Team, action: Callable[[], T]) -> tuple[T | None, ResponseReturnValue | None]:
    """Run a button's action and commit; when refused, the team page saying why instead."""
    try:
        result = action()
        db.session.commit()
    except (Invalid, Conflict) as error:
        db.session.rollback()
        return None, _team_page(team, error.status, error=error.message)
    return result, None
