"""Bracket generation: preview, generate, regenerate and finalize a tournament's bracket.

The engine (`app.brackets`) builds the structure and applies byes; this module picks the
entrants (`seeding`), persists the engine's matches as rows in one transaction with bulk
inserts, and rebuilds an engine `Play` from the rows when a result has to be applied later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select

from app.brackets import build as build_structure
from app.brackets.model import (
    BestOf,
    BracketError,
    Side,
)
from app.brackets.model import Bracket as Structure
from app.brackets.model import Format as EngineFormat
from app.brackets.model import Match as EngineMatch
from app.brackets.play import Outcome, Play
from app.brackets.seeding import elimination_cells, separate, tiers
from app.extensions import db
from app.models import (
    Bracket,
    BracketEntrant,
    Match,
    Registration,
    SeedingMethod,
    Separation,
    Status,
    Team,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, bracket_rows, registrations, seeding
from app.services.errors import Conflict, IllegalTransition, Invalid

GENERATABLE = (Status.REGISTRATION, Status.CHECK_IN, Status.LIVE)
MAX_GROUPS = 64
# Outcomes that mean a match was really played or decided by staff (a bye is neither).
DECIDED = (Outcome.PLAYED, Outcome.FORFEIT, Outcome.DOUBLE_FORFEIT, Outcome.DISQUALIFIED)
SIDE_TITLES = {
    Side.WINNERS: "Winners bracket", Side.LOSERS: "Losers bracket",
    Side.GRAND_FINAL: "Grand final", Side.THIRD_PLACE: "Third-place match",
    Side.GROUP: "Group", Side.SWISS: "Swiss",
}


@dataclass(slots=True)
class Options:
    """What an organizer chooses on the bracket page (the rest comes from the tournament)."""

    seeding: SeedingMethod = SeedingMethod.REGISTRATION
    separation: Separation = Separation.NONE
    groups: int = 1
    cycles: int = 1
    rounds: int | None = None  # Swiss; None: ceil(log2 N)
    advance: int = 2  # round robin in groups: how many of each group reach the playoffs
    rng_seed: int | None = None  # random seeding: the draw to reproduce (None: a new one)


@dataclass(slots=True)
class Plan:
    """A bracket as it would be (preview) or was (generate) made, before or after saving."""

    structure: Structure
    play: Play
    seeding: seeding.Seeding
    excluded: list[seeding.Exclusion]
    settings: dict[str, Any]
    separation: Separation = Separation.NONE
    groups: dict[int, int] = field(default_factory=dict)  # seed -> group (round robin)
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return {seed: r.name for seed, r in enumerate(self.seeding.order, start=1)}


# --- planning (no writes) ----------------------------------------------------------------


def engine_settings(tournament: Tournament, options: Options) -> dict[str, Any]:
    """The engine options stored on the bracket, from the tournament and the organizer."""
    return {
        "grand_final": tournament.grand_final.value.lower(),
        "third_place": bool(tournament.third_place_match),
        "groups": options.groups,
        "cycles": options.cycles,
        "rounds": options.rounds,
        "advance": options.advance,
        "best_of": {"default": tournament.best_of, "finals": tournament.best_of_finals,
                    "rounds": dict(tournament.best_of_by_round or {})},
    }


def structure_for(fmt: str, entrants: int, settings: dict[str, Any]) -> Structure:
    best = settings.get("best_of") or {}
    best_of = BestOf(default=best.get("default", 1), finals=best.get("finals"),
                     rounds=best.get("rounds") or {})
    return build_structure(
        fmt, entrants, grand_final=settings.get("grand_final", "single"),
        third_place=settings.get("third_place", False), best_of=best_of,
        groups=settings.get("groups", 1), cycles=settings.get("cycles", 1),
        rounds=settings.get("rounds"))


def plan(tournament: Tournament, options: Options) -> Plan:
    """The bracket generation would make now, without saving anything."""
    fmt = tournament.format.value.lower()
    _check_options(fmt, options)
    entrants, excluded = seeding.eligibility(tournament)
    if len(entrants) < 2:
        raise Invalid(f"A bracket needs at least 2 checked-in, confirmed entrants; "
                      f"{len(entrants)} {'is' if len(entrants) == 1 else 'are'} eligible.")
    order = seeding.order(tournament, entrants, options.seeding, options.rng_seed)
    settings = engine_settings(tournament, options)
    try:
        structure = structure_for(fmt, len(entrants), settings)
    except BracketError as error:
        raise Invalid(str(error)) from error
    settings["rounds_planned"] = structure.rounds_planned
    result = Plan(structure, Play(structure), order, excluded, settings,
                  separation=options.separation)
    result.notes = list(order.notes)
    _separate(tournament, result, options.separation)
    result.groups = {seed: m.group for m in structure.matches if m.group
                     for seed in _seeds_of(m)}
    return result


def _check_options(fmt: str, options: Options) -> None:
    errors = {}
    if not 1 <= options.groups <= MAX_GROUPS:
        errors["groups"] = f"Between 1 and {MAX_GROUPS} groups."
    if options.cycles not in (1, 2):
        errors["cycles"] = "Single (1) or double (2) round robin."
    if options.rounds is not None and options.rounds < 1:
        errors["rounds"] = "At least one round."
    if options.advance < 1:
        errors["advance"] = "At least one entrant per group goes on."
    if fmt != EngineFormat.ROUND_ROBIN and (options.groups != 1 or options.cycles != 1):
        errors["groups"] = "Groups apply to round robin only."
    if errors:
        raise Invalid("Check the bracket options.", errors)


def _seeds_of(match: EngineMatch) -> list[int]:
    return [s.ref for s in match.slots if s.kind == "seed"]


def _separate(tournament: Tournament, result: Plan, separation: Separation) -> None:
    """Reorder seeds within their tier so same-team/club entrants avoid each other at first."""
    if separation == Separation.NONE:
        return
    keys = seeding.separation_keys(tournament, result.seeding, separation)
    cells, bands = _first_meetings(result.structure)
    moved, left = separate(keys, cells, bands)
    if moved:
        order = result.seeding.order
        result.seeding.order = [order[moved.get(seed, seed) - 1]
                                for seed in range(1, len(order) + 1)]
        result.play = Play(result.structure)
        swaps = sorted({tuple(sorted((a, b))) for a, b in moved.items()})
        result.notes.append("Moved to keep the same team/club/region apart: " + ", ".join(
            f"seed {b} ↔ seed {a}" for a, b in swaps) + ".")
    if left:
        result.notes.append(f"{left} first-round meeting(s) of the same team/club/region "
                            "could not be avoided.")


def _first_meetings(structure: Structure) -> tuple[list[list[int]], list[list[int]]]:
    """Cells of seeds that meet first, and the bands of seeds that may trade places."""
    n = structure.entrants
    if structure.format == EngineFormat.ROUND_ROBIN:
        groups: dict[int, set[int]] = {}
        for match in structure.matches:
            groups.setdefault(match.group or 1, set()).update(_seeds_of(match))
        g = len(groups)
        pots = [list(range(start, min(start + g, n + 1))) for start in range(1, n + 1, g)]
        return [sorted(seeds) for _, seeds in sorted(groups.items())], pots
    if structure.format == EngineFormat.SWISS:
        return [_seeds_of(m) for m in structure.matches if m.round == 1], tiers(n)
    return elimination_cells(n), tiers(n)


# --- generation --------------------------------------------------------------------------


def current(tournament: Tournament, stage: int = 1) -> Bracket | None:
    return db.session.scalar(select(Bracket).where(
        Bracket.tournament_id == tournament.id, Bracket.stage == stage))


def version_of(tournament: Tournament) -> int:
    """What a bracket form carries to detect a stale page: the bracket's version, 0 if none."""
    bracket = current(tournament)
    return bracket.version if bracket else 0


def started(bracket: Bracket) -> bool:
    """Whether any match of the bracket has a result (byes aside): no regenerating then."""
    return db.session.scalar(select(Match.id).where(
        Match.bracket_id == bracket.id, Match.outcome.in_([o.value for o in DECIDED]),
    ).limit(1)) is not None


def generate(actor: User, tournament: Tournament, options: Options,
             expected_version: int) -> Bracket:
    """Generate (or regenerate) the bracket, replacing the old one in this transaction."""
    registrations.lock(tournament)
    if tournament.status not in GENERATABLE:
        raise IllegalTransition(
            f"The tournament is {tournament.status.value.lower().replace('_', '-')}; brackets "
            "are generated once registration is open and until the tournament ends.")
    old = current(tournament)
    if (old.version if old else 0) != expected_version:
        raise Conflict("The bracket changed since you opened this page; here is the "
                       "current one.")
    if old is not None and started(old):
        raise IllegalTransition("Matches of this bracket have started; it can no longer be "
                                "regenerated.")
    result = plan(tournament, options)
    if old is not None:
        db.session.execute(delete(Bracket).where(Bracket.tournament_id == tournament.id))
        db.session.expunge(old)
    bracket = persist(actor, tournament, result, version=(old.version + 1) if old else 1)
    action = "bracket.regenerated" if old else "bracket.generated"
    audit.record(actor, action, bracket, tournament=tournament, format=bracket.format,
                 entrants=bracket.entrants, seeding=bracket.seeding_method.value,
                 rng_seed=bracket.rng_seed, excluded=len(bracket.excluded))
    events.record("bracket_generated", tournament_id=tournament.id, bracket_id=bracket.id)
    return bracket


def persist(actor: User, tournament: Tournament, result: Plan, *, version: int,
             stage: int = 1) -> Bracket:
    order = result.seeding
    bracket = Bracket(
        tournament_id=tournament.id, stage=stage, format=result.structure.format.value,
        seeding_method=order.method, separation=result.separation, rng_seed=order.rng_seed,
        settings=result.settings, entrants=result.structure.entrants,
        excluded=[e.as_json() for e in result.excluded], notes=result.notes,
        generated_by_id=actor.id, version=version)
    db.session.add(bracket)
    db.session.flush()
    db.session.execute(insert(BracketEntrant.__table__), [
        {"bracket_id": bracket.id, "seed": seed, "registration_id": r.id,
         "group": result.groups.get(seed), "rating": order.ratings.get(r.id)}
        for seed, r in enumerate(order.order, start=1)])
    bracket_rows.insert_matches(bracket, result.structure.matches, result.play.states)
    return bracket


def finalize(actor: User, tournament: Tournament, expected_version: int) -> Bracket:
    """Publish the bracket: spectators see it and its matches can be played."""
    registrations.lock(tournament)
    bracket = current(tournament)
    if bracket is None:
        raise IllegalTransition("Generate the bracket before finalizing it.")
    if bracket.version != expected_version:
        raise Conflict("The bracket changed since you opened this page; here is the "
                       "current one.")
    if bracket.finalized:
        raise IllegalTransition("The bracket is finalized already.")
    if changes := outdated(bracket, tournament):
        raise IllegalTransition(f"Since this bracket was generated, {'; '.join(changes)} "
                                f"changed: regenerate it first.")
    bracket.finalized_at, bracket.finalized_by_id = utcnow(), actor.id
    bracket.version += 1
    audit.record(actor, "bracket.finalized", bracket, tournament=tournament)
    events.record("bracket_generated", tournament_id=tournament.id, bracket_id=bracket.id)
    return bracket


def seed_names(bracket_ids: Iterable[int],
               seeds: Iterable[int] | None = None) -> dict[tuple[int, int], str]:
    """(bracket id, seed) → the entrant's name (`Registration.name`: the team's, else the
    player's) for the given brackets (and only `seeds`, when given), in one query."""
    query = (select(BracketEntrant.bracket_id, BracketEntrant.seed,
                    func.coalesce(Team.name, User.display_name))
             .join(Registration, Registration.id == BracketEntrant.registration_id)
             .outerjoin(Team, Team.id == Registration.team_id)
             .outerjoin(User, User.id == Registration.user_id)
             .where(BracketEntrant.bracket_id.in_(list(bracket_ids))))
    if seeds is not None:
        query = query.where(BracketEntrant.seed.in_(list(seeds)))
    return {(b, seed): name for b, seed, name in db.session.execute(query)}


def outdated(bracket: Bracket, tournament: Tournament) -> list[str]:
    """What changed since `bracket` was generated: rules or entrants ([] when nothing)."""
    settings = bracket.settings or {}
    now = engine_settings(tournament, Options())
    changes = []
    if bracket.format != tournament.format.value.lower():
        changes.append("the format")
    if bracket.format == EngineFormat.DOUBLE_ELIMINATION and settings.get(
            "grand_final") != now["grand_final"]:
        changes.append("the grand final")
    if bracket.format == EngineFormat.SINGLE_ELIMINATION and settings.get(
            "third_place") != now["third_place"]:
        changes.append("the third-place match")
    if settings.get("best_of") != now["best_of"]:
        changes.append("the best-of settings")
    if bracket.stage == 1:
        eligible = {r.id for r in seeding.eligibility(tournament)[0]}
        seeded = {e.registration_id for e in bracket.seeds}
        joined, left = len(eligible - seeded), len(seeded - eligible)
        if joined or left:
            changes.append(f"the entrants: {joined} now eligible and not seeded, "
                           f"{left} seeded and no longer eligible")
    return changes
