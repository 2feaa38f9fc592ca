"""Registering, withdrawing and checking in, from the tournament page (players and captains).

Staff actions (remove, reinstate, check anyone in or out, remove no-shows) live
in the organizer's registration panel, which calls the same services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Registration, RegistrationStatus, Team, Tournament
from app.services import checkin, entrants, live_matches, permissions, registrations
from app.services.errors import Conflict, Invalid
from app.web.access import TOURNAMENT_VIEWER, requires
from app.web.forms import RACE_MESSAGE, submit
from app.web.registrations.context import page_context, team_prefix
from app.web.registrations.forms import TeamRegistrationForm

bp = Blueprint("registrations", __name__, url_prefix="/t/<slug>")
T = TypeVar("T")


@bp.post("/register")
@requires(TOURNAMENT_VIEWER)
def register(tournament):
    """Register the signed-in player for a solo tournament (or its waitlist)."""
    _require_login(tournament)
    return _button(tournament, lambda: registrations.register_solo(current_user, tournament),
                   _registered)


@bp.post("/teams/<int:team_id>/register")
@requires(TOURNAMENT_VIEWER)
def register_team(tournament, team):
    """Register a team the signed-in player captains, with the roster ticked on the form."""
    _require_login(tournament)
    form = TeamRegistrationForm(prefix=team_prefix(team))
    done = submit(form, lambda: registrations.register_team(
        current_user, tournament, team, form.players.data or [], form.substitutes.data or []))
    if done.ok:
        _registered(done.value)
        return redirect(_tournament_url(tournament))
    return _page(tournament, 400, team_forms={team.id: form})


@bp.post("/registrations/<int:registration_id>/withdraw")
@requires(TOURNAMENT_VIEWER)
def withdraw(tournament, registration_id: int):
    """Withdraw one's registration before the start (a wallet-paid fee goes back to it)."""
    _require_login(tournament)
    registration = entrants.get(tournament, registration_id)
    return _button(tournament, lambda: registrations.withdraw(current_user, registration),
                   _said(f"{_whose(registration)} registration was withdrawn.",
                         f"{_whose(registration)} registration was already withdrawn."))


@bp.post("/registrations/<int:registration_id>/check-in")
@requires(TOURNAMENT_VIEWER)
def check_in(tournament, registration_id: int):
    """Check in one's confirmed registration while check-in is open."""
    _require_login(tournament)
    registration = entrants.get(tournament, registration_id)
    return _button(tournament, lambda: checkin.check_in(current_user, registration),
                   _said(f"Checked in: {registration.name} is ready to play.",
                         f"{registration.name} was already checked in."))


@bp.post("/registrations/<int:registration_id>/undo-check-in")
@requires(TOURNAMENT_VIEWER)
def undo_check_in(tournament, registration_id: int):
    """Take back one's check-in within 15 minutes."""
    _require_login(tournament)
    registration = entrants.get(tournament, registration_id)
    return _button(tournament, lambda: checkin.undo(current_user, registration),
                   _said(f"Check-in undone: {registration.name} is not checked in.",
                         f"{registration.name} was not checked in."))


# --- helpers -------------------------------------------------------------------------


def _tournament_url(tournament: Tournament) -> str:
    return url_for("public.tournament", slug=tournament.slug)


def _require_login(tournament: Tournament) -> None:
    """Anonymous visitors log in first, then come back to the tournament page."""
    if not current_user.is_authenticated:
        abort(redirect(url_for("auth.login", next=_tournament_url(tournament))))


def _page(tournament: Tournament, status: int, error: str | None = None,
          team_forms: dict[int, TeamRegistrationForm] | None = None) -> ResponseReturnValue:
    """The tournament page again, saying in the registration box why nothing changed."""
    return render_template(
        "pages/public/tournament.html", tournament=tournament,
        is_staff=permissions.can_coordinate(current_user, tournament),
        board=live_matches.board(tournament),
        **page_context(tournament, current_user, team_forms, error)), status


def _button(tournament: Tournament, action: Callable[[], T],
            say: Callable[[T], None]) -> ResponseReturnValue:
    """Run a button's action, commit and say what happened; refused: the page says why."""
    try:
        result = action()
        db.session.commit()
    except (Invalid, Conflict) as error:
        db.session.rollback()
        return _page(tournament, error.status, error.message)
    except IntegrityError:  # a concurrent twin that only the database caught
        db.session.rollback()
        return _page(tournament, 409, RACE_MESSAGE)
    say(result)
    return redirect(_tournament_url(tournament))


def _registered(registration: Registration) -> None:
    """Say what the registration became: a slot (paid or not) or a place on the waitlist."""
    tournament = db.session.get(Tournament, registration.tournament_id)
    team = registration.team
    who, its = (team.name, "its") if team else ("You", "your")
    be = "is" if team else "are"
    if registration.status == RegistrationStatus.WAITLISTED:
        position = entrants.waitlist_position(registration)
        flash(f"The tournament is full: {who if team else 'you'} {be} number {position} on "
              "the waitlist and get a slot automatically when one frees up.", "info")
    elif registration.status == RegistrationStatus.PENDING_PAYMENT:
        flash(f"{who} {be} registered. Pay the entry fee of {tournament.entry_fee} coins to "
              f"confirm {its} place.", "success")
    else:
        flash(f"{who} {be} registered for {tournament.name}.", "success")


def _said(done: str, already: str) -> Callable[[bool], None]:
    """A flash for an action that returns whether it changed anything."""
    return lambda changed: flash(done if changed else already,
                                 "success" if changed else "info")


def _whose(registration: Registration) -> str:
    team: Team | None = registration.team
    return f"{team.name}’s" if team else "Your"
