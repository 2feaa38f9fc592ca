"""Rosters: who may be on a registration, and how to say why someone may not."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.extensions import db
from app.models import Registration, RegistrationMember, Team, TeamMember, Tournament, User
from app.services.errors import Invalid


def validate(tournament: Tournament, team: Team, players: list[int],
             substitutes: list[int]) -> None:
    """Refuse a roster of the wrong size, with outsiders, or with players entered already."""
    size, most = tournament.game.team_size, tournament.max_substitutes
    members = member_names(team)
    errors: dict[str, str] = {}
    if len(players) != size:
        errors["players"] = f"Choose exactly {size} players (you chose {len(players)})."
    if len(substitutes) > most:
        errors["substitutes"] = (f"Choose at most {most} substitute{'s' if most != 1 else ''} "
                                 f"(you chose {len(substitutes)})." if most else
                                 "This tournament allows no substitutes.")
    if both := [i for i in substitutes if i in players]:
        errors["substitutes"] = (f"{names(both, members)} cannot be both a player and a "
                                 "substitute.")
    for name, ids in (("players", players), ("substitutes", substitutes)):
        if outsiders := [i for i in ids if i not in members]:
            errors[name] = (f"Only members of {team.name} can be on its roster; "
                            f"{names(outsiders, user_names(outsiders))} "
                            f"{'is' if len(outsiders) == 1 else 'are'} not a member.")
    if not errors and (taken := already_registered(tournament, players + substitutes)):
        errors["players" if set(taken) & set(players) else "substitutes"] = taken_message(
            taken, members)
    if errors:
        raise Invalid("The roster cannot be registered; see the highlighted choices.", errors)


def member_names(team: Team) -> dict[int, str]:
    """{user id: display name} of the team's members."""
    rows = db.session.execute(
        select(TeamMember.user_id, User.display_name).join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team.id))
    return dict(rows.all())


def user_names(user_ids: list[int]) -> dict[int, str]:
    """{user id: display name} of these users."""
    return dict(db.session.execute(select(User.id, User.display_name)
                                   .where(User.id.in_(user_ids))).all())


def names(ids: Iterable[int], known: dict[int, str]) -> str:
    """The display names of `ids`, joined for a sentence."""
    return ", ".join(known.get(i, "an unknown player") for i in ids)


def taken_message(taken: dict[int, Registration], known: dict[int, str]) -> str:
    """Why these players cannot be entered again."""
    parts = [f"{known.get(user_id, 'A player')} is already registered here"
             + (f" with {reg.team.name}" if reg.team else " as a solo player")
             for user_id, reg in taken.items()]
    return "; ".join(parts) + ". A player can be in one registration per tournament."


def already_registered(tournament: Tournament, user_ids: list[int]) -> dict[int, Registration]:
    """{user id: their active registration here} for those of `user_ids` already in one."""
    rows = db.session.execute(
        select(RegistrationMember.user_id, Registration)
        .join(Registration, Registration.id == RegistrationMember.registration_id)
        .where(RegistrationMember.tournament_id == tournament.id,
               RegistrationMember.active, RegistrationMember.user_id.in_(user_ids)))
    return {user_id: registration for user_id, registration in rows.unique().all()}
