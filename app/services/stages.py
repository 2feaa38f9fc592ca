"""Later stages of a bracket: each next Swiss round, and playoffs seeded from round-robin groups."""

from __future__ import annotations

from sqlalchemy import select

from app.brackets import round_robin, swiss
from app.brackets.model import BracketError
from app.brackets.model import Format as EngineFormat
from app.brackets.play import Play
from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchStatus,
    Registration,
    SeedingMethod,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, registrations, seeding
from app.services.bracket_rows import insert_matches, load
from app.services.brackets import Plan, current, persist, structure_for
from app.services.errors import Conflict, IllegalTransition, Invalid


def pair_next_swiss_round(actor: User | None, tournament: Tournament) -> list[Match]:
    """Pair the next Swiss round once every match of the current one is decided.

    Called when a result completes a round (and by staff); the new matches are inserted in
    this transaction. Returns the new rows ([] when the last planned round is done).
    """
    registrations.lock(tournament)
    bracket = current(tournament)
    if bracket is None or bracket.format != EngineFormat.SWISS:
        raise IllegalTransition("This tournament has no Swiss bracket.")
    structure, play, rows = load(bracket)
    if not swiss.can_pair_next(play):
        return []
    try:
        new = swiss.next_round(play)
    except BracketError as error:
        raise IllegalTransition(str(error)) from error
    insert_matches(bracket, [structure.matches[i] for i in new], [play.states[i] for i in new])
    bracket.version += 1
    round_ = structure.matches[new[0]].round if new else 0
    audit.record(actor, "bracket.swiss_round_paired", bracket, tournament=tournament,
                 round=round_, matches=len(new))
    events.record("bracket_generated", tournament_id=tournament.id, bracket_id=bracket.id)
    return list(db.session.scalars(select(Match).where(
        Match.bracket_id == bracket.id, Match.number.in_(new)).order_by(Match.number)))


def generate_playoffs(actor: User, tournament: Tournament, expected_version: int) -> Bracket:
    """Seed the top entrants of each finished round-robin group into an elimination bracket.

    Group winners are seeded first, then runners-up, and so on (by group number), ordered so
    that group-mates do not meet in the first round where that can be avoided. Regenerating
    the group stage removes the playoffs with it.
    """
    registrations.lock(tournament)
    groups = current(tournament)
    if groups is None or groups.format != EngineFormat.ROUND_ROBIN or groups.settings.get(
            "groups", 1) < 2:
        raise IllegalTransition("Playoffs follow a round robin played in groups.")
    if groups.version != expected_version:
        raise Conflict("The bracket changed since you opened this page; here is the "
                       "current one.")
    if current(tournament, stage=2) is not None:
        raise IllegalTransition("The playoffs are generated already.")
    structure, play, _ = load(groups)
    if not play.finished():
        raise IllegalTransition("Every group match must be decided before the playoffs.")
    advance = groups.settings.get("advance", 2)
    smallest = min(sum(1 for e in groups.seeds if e.group == g) for g in
                   {e.group for e in groups.seeds})
    if advance > smallest:
        raise Invalid(f"At most {smallest} per group can go on (the smallest group's size).")
    order = round_robin.playoff_order(round_robin.group_tables(play), advance)
    by_seed = registrations_by_seed(groups)
    settings = {**groups.settings, "groups": 1, "cycles": 1}
    playoff = structure_for(EngineFormat.SINGLE_ELIMINATION, len(order), settings)
    result = Plan(playoff, Play(playoff),
                  seeding.Seeding([by_seed[s] for s in order], SeedingMethod.REGISTRATION),
                  [], settings)
    result.notes = [f"Top {advance} of each group, group winners seeded first."]
    bracket = persist(actor, tournament, result, version=1, stage=2)
    # Seeded from results everyone has seen: public at once, like the groups before it.
    bracket.finalized_at, bracket.finalized_by_id = utcnow(), actor.id
    groups.version += 1
    audit.record(actor, "bracket.playoffs_generated", bracket, tournament=tournament,
                 entrants=len(order))
    events.record("bracket_generated", tournament_id=tournament.id, bracket_id=bracket.id)
    return bracket


def registrations_by_seed(bracket: Bracket) -> dict[int, Registration]:
    return {e.seed: e.registration for e in bracket.seeds}


def current_playoffs(bracket: Bracket) -> Bracket | None:
    """The playoff stage that follows `bracket`'s groups, if generated."""
    if bracket.stage != 1 or bracket.format != EngineFormat.ROUND_ROBIN:
        return None
    return db.session.scalar(select(Bracket).where(
        Bracket.tournament_id == bracket.tournament_id, Bracket.stage == 2))


def playoffs_due(bracket: Bracket) -> bool:
    """Whether a round robin in groups is finished and waits for its playoffs."""
    if bracket.format != EngineFormat.ROUND_ROBIN or (bracket.settings or {}).get(
            "groups", 1) < 2 or current_playoffs(bracket) is not None:
        return False
    return db.session.scalar(select(Match.id).where(
        Match.bracket_id == bracket.id,
        Match.status.not_in([MatchStatus.COMPLETED, MatchStatus.SKIPPED])).limit(1)) is None
