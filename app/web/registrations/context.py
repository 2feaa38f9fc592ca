"""What the tournament page shows of registrations: the participant list and the viewer's box.

The participant list (`roster`) is the same for everyone, so the realtime hub
can push it; the box (`mine`) is the viewer's own and is rendered per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for

from app.models import Registration, RegistrationStatus, Team, Tournament, User, utcnow
from app.services import checkin, entrants
from app.web.registrations.forms import ActionForm, TeamRegistrationForm


@dataclass
class Entry:
    """One registration the viewer is part of, with what they may do about it."""

    registration: Registration
    can_act: bool  # the viewer is its player or its team's captain
    role: str | None  # "player" / "substitute" on a team roster, else None
    waitlist_position: int | None
    can_withdraw: bool
    can_check_in: bool
    can_undo: bool
    undo_until: datetime | None
    checkin_open: bool
    checkin_closed: bool


@dataclass
class TeamChoice:
    """A team the viewer captains, with its roster form."""

    team: Team
    form: TeamRegistrationForm
    open: bool = False  # shown unfolded (the only team, or its form has errors)


@dataclass
class Box:
    """The viewer's registration box on the tournament page."""

    signed_in: bool
    login_url: str
    payment_url: str
    problem: str | None  # why registration is closed; None while it is open
    full: bool
    entries: list[Entry] = field(default_factory=list)
    can_register_solo: bool = False
    teams: list[TeamChoice] = field(default_factory=list)
    captains_any: bool = False
    error: str | None = None
    action: ActionForm | None = None


def page_context(tournament: Tournament, user: User | None,
                 team_forms: dict[int, TeamRegistrationForm] | None = None,
                 error: str | None = None) -> dict[str, Any]:
    """The tournament page's registration parts: `roster` (public) and `mine` (the viewer's)."""
    roster = entrants.roster(tournament)
    return {"roster": roster, "mine": _box(tournament, user, roster, team_forms or {}, error)}


def _box(tournament: Tournament, user: User | None, roster: entrants.Roster,
         team_forms: dict[int, TeamRegistrationForm], error: str | None) -> Box:
    page = url_for("public.tournament", slug=tournament.slug)
    counts = roster.counts
    box = Box(signed_in=bool(user and user.is_authenticated),
              login_url=url_for("auth.login", next=page),
              payment_url=f"{page}/payment",  # the payments page; linked by address on purpose
              problem=entrants.registration_problem(tournament),
              full=counts["registered"] >= counts["capacity"],
              error=error, action=ActionForm())
    if not box.signed_in:
        return box
    box.entries = [_entry(tournament, user, r) for r in
                   entrants.registrations_of(tournament, user)]
    if tournament.team_based:
        box.teams, box.captains_any = _team_choices(tournament, user, team_forms)
    else:
        # Entries hold an active registration, or a removed one that only staff may reinstate.
        box.can_register_solo = not box.entries
    return box


def _entry(tournament: Tournament, user: User, registration: Registration) -> Entry:
    now = utcnow()
    acts = entrants.can_act(user, registration)
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    checked_in = registration.checked_in_at is not None
    is_open = checkin.is_open(tournament, now)
    role = next((m.role.value.lower() for m in registration.members if m.user_id == user.id),
                None) if registration.team_id else None
    return Entry(
        registration=registration, can_act=acts, role=role,
        waitlist_position=entrants.waitlist_position(registration),
        can_withdraw=acts and registration.active and not entrants.started(tournament),
        can_check_in=acts and confirmed and not checked_in and is_open,
        can_undo=acts and checkin.can_undo(registration, tournament, now),
        undo_until=checkin.undo_deadline(registration),
        checkin_open=is_open, checkin_closed=checkin.closed(tournament, now),
    )


def _team_choices(tournament: Tournament, user: User,
                  team_forms: dict[int, TeamRegistrationForm]) -> tuple[list[TeamChoice], bool]:
    captained = entrants.captained_teams(user)
    # Teams already in (or removed by the staff, who alone may reinstate them) get no form.
    free = [t for t in captained if (latest := entrants.latest_of_team(tournament, t))
            is None or latest.status == RegistrationStatus.WITHDRAWN]
    choices = [TeamChoice(t, team_forms.get(t.id) or _fresh_form(tournament, t),
                          open=len(free) == 1 or t.id in team_forms) for t in free]
    return choices, bool(captained)


def _fresh_form(tournament: Tournament, team: Team) -> TeamRegistrationForm:
    form = TeamRegistrationForm(formdata=None, prefix=team_prefix(team))
    # A good first guess: the first members (the captain first) play.
    form.players.data = [m.user_id for m in team.members][:tournament.game.team_size]
    form.substitutes.data = []
    return form


def team_prefix(team: Team) -> str:
    """Each team's form on the page has its own field names and ids."""
    return f"team{team.id}"
