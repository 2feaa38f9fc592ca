"""Who goes into a bracket and in what order: eligibility, seeding methods, ratings, drafts.

Only confirmed, checked-in registrations are seeded; everyone else is listed with the reason.
Every method starts from registration order (registration id: the order people signed up),
so every tie is broken the same way and can be explained:

- registration: that order;
- random: a shuffle by an RNG whose seed is stored on the bracket, so the draw can be redone;
- manual: the organizer's saved draft; entrants missing from it follow in registration order;
- ranked: the game's rating of each player (solo) or team, best first; equal ratings keep
  registration order and missing ratings go last, each case noted.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Rating,
    Registration,
    RegistrationStatus,
    SeedingDraft,
    SeedingMethod,
    Separation,
    TeamMember,
    Tournament,
    User,
)
from app.services import audit, registrations
from app.services.errors import Conflict, Invalid

REASONS = {
    RegistrationStatus.PENDING_PAYMENT: "entry fee not paid",
    RegistrationStatus.WAITLISTED: "on the waitlist",
    RegistrationStatus.WITHDRAWN: "withdrew",
    RegistrationStatus.REMOVED: "removed by staff",
}
NOT_CHECKED_IN = "did not check in"
MAX_RATING = 1_000_000


@dataclass(frozen=True, slots=True)
class Exclusion:
    registration: Registration
    reason: str

    def as_json(self) -> dict:
        return {"registration_id": self.registration.id, "name": self.registration.name,
                "reason": self.reason}


@dataclass(slots=True)
class Seeding:
    """Entrants in seed order (seed k is `order[k-1]`) and how the order came about."""

    order: list[Registration]
    method: SeedingMethod
    rng_seed: int | None = None
    ratings: dict[int, int | None] = field(default_factory=dict)  # registration id -> rating
    notes: list[str] = field(default_factory=list)


def eligibility(tournament: Tournament) -> tuple[list[Registration], list[Exclusion]]:
    """Confirmed, checked-in registrations in registration order, and the others with why."""
    rows = db.session.scalars(select(Registration).where(
        Registration.tournament_id == tournament.id).order_by(Registration.id)).unique().all()
    entrants, excluded = [], []
    for registration in rows:
        if registration.status != RegistrationStatus.CONFIRMED:
            reason = REASONS[registration.status]
            if registration.removal_reason and registration.status == RegistrationStatus.REMOVED:
                reason = f"{reason}: {registration.removal_reason}"
            excluded.append(Exclusion(registration, reason))
        elif registration.checked_in_at is None:
            excluded.append(Exclusion(registration, NOT_CHECKED_IN))
        else:
            entrants.append(registration)
    return entrants, excluded


def order(tournament: Tournament, entrants: Sequence[Registration], method: SeedingMethod,
          rng_seed: int | None = None) -> Seeding:
    """Seed `entrants` (in registration order) by `method`."""
    entrants = list(entrants)
    if method == SeedingMethod.REGISTRATION:
        return Seeding(entrants, method)
    if method == SeedingMethod.RANDOM:
        rng_seed = new_rng_seed() if rng_seed is None else rng_seed
        shuffled = entrants[:]
        random.Random(rng_seed).shuffle(shuffled)
        return Seeding(shuffled, method, rng_seed=rng_seed,
                       notes=[f"Random draw with RNG seed {rng_seed}."])
    if method == SeedingMethod.MANUAL:
        return _manual(tournament, entrants)
    return _ranked(tournament, entrants)


def new_rng_seed() -> int:
    return secrets.randbits(48)


def _manual(tournament: Tournament, entrants: list[Registration]) -> Seeding:
    saved = draft(tournament)
    wanted = saved.registration_ids if saved else []
    by_id = {r.id: r for r in entrants}
    ordered = [by_id.pop(rid) for rid in dict.fromkeys(wanted) if rid in by_id]
    notes = []
    if by_id:
        names = ", ".join(r.name for r in by_id.values())
        notes.append(f"Not in the manual order, seeded last in registration order: {names}.")
    return Seeding(ordered + list(by_id.values()), SeedingMethod.MANUAL, notes=notes)


def _ranked(tournament: Tournament, entrants: list[Registration]) -> Seeding:
    ratings = {rid: (r.rating if r else None)
               for rid, r in ratings_of(tournament, entrants).items()}
    position = {r.id: i for i, r in enumerate(entrants)}
    rated = sorted((r for r in entrants if ratings[r.id] is not None),
                   key=lambda r: (-ratings[r.id], position[r.id]))
    unrated = [r for r in entrants if ratings[r.id] is None]
    notes = []
    for rating in sorted({ratings[r.id] for r in rated}, reverse=True):
        tied = [r for r in rated if ratings[r.id] == rating]
        if len(tied) > 1:
            names = ", ".join(r.name for r in tied)
            notes.append(f"Rated {rating} alike, seeded in registration order: {names}.")
    if unrated:
        names = ", ".join(r.name for r in unrated)
        notes.append(f"No rating, seeded last in registration order: {names}.")
    return Seeding(rated + unrated, SeedingMethod.RANKED, ratings=ratings, notes=notes)


# --- separation keys ---------------------------------------------------------------------


def separation_keys(tournament: Tournament, seeding: Seeding, separation: Separation,
                    ) -> dict[int, str]:
    """Seed -> the team/club/region to keep apart ("" for none)."""
    if separation == Separation.NONE:
        return {}
    if separation == Separation.AFFILIATION:
        ratings = ratings_of(tournament, seeding.order)
        return {seed: (ratings[r.id].affiliation.strip().lower() if ratings[r.id] else "")
                for seed, r in enumerate(seeding.order, start=1)}
    if tournament.team_based:
        raise Invalid("Keeping teams apart applies to solo tournaments; choose club/region.",
                      {"separation": "Team entrants are teams already."})
    users = [r.user_id for r in seeding.order]
    teams: dict[int, int] = {}
    for user_id, team_id in db.session.execute(
            select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(users))
            .order_by(TeamMember.team_id)):
        teams.setdefault(user_id, team_id)  # a player on several teams: their first team
    return {seed: (f"team:{teams[r.user_id]}" if r.user_id in teams else "")
            for seed, r in enumerate(seeding.order, start=1)}


# --- ratings -----------------------------------------------------------------------------


def ratings_of(tournament: Tournament, registrations: Sequence[Registration],
               ) -> dict[int, Rating | None]:
    """Registration id -> its player's or team's rating row in the tournament's game."""
    if tournament.team_based:
        column, owner = Rating.team_id, {r.id: r.team_id for r in registrations}
    else:
        column, owner = Rating.user_id, {r.id: r.user_id for r in registrations}
    rows = db.session.scalars(select(Rating).where(
        Rating.game_id == tournament.game_id, column.in_(set(owner.values())))).all()
    by_owner = {(row.team_id if tournament.team_based else row.user_id): row for row in rows}
    return {rid: by_owner.get(oid) for rid, oid in owner.items()}


def set_rating(actor: User, tournament: Tournament, registration: Registration,
               rating: int | None, affiliation: str = "") -> Rating:
    """Set the rating (None clears it) and club/region of a registration's player or team."""
    if registration.tournament_id != tournament.id:
        raise Invalid("That registration is not in this tournament.")
    _check_rating(rating, affiliation)
    row = ratings_of(tournament, [registration])[registration.id]
    if row is None:
        row = Rating(game_id=tournament.game_id, rating=rating, affiliation=affiliation,
                     updated_by_id=actor.id)
        if tournament.team_based:
            row.team_id = registration.team_id
        else:
            row.user_id = registration.user_id
        db.session.add(row)
    before = (row.rating, row.affiliation)
    row.rating, row.affiliation, row.updated_by_id = rating, affiliation.strip(), actor.id
    audit.record(actor, "rating.set", registration, tournament=tournament,
                 before=list(before), after=[rating, row.affiliation])
    return row


def _check_rating(rating: int | None, affiliation: str) -> None:
    if rating is not None and not -MAX_RATING <= rating <= MAX_RATING:
        raise Invalid(f"A rating is a whole number between -{MAX_RATING} and {MAX_RATING}.",
                      {"rating": "Out of range."})
    if len(affiliation.strip()) > 80:
        raise Invalid("Club/region is at most 80 characters.", {"affiliation": "Too long."})


@dataclass(slots=True)
class ImportResult:
    updated: int
    errors: list[str]


def import_ratings(actor: User, tournament: Tournament, text: str) -> ImportResult:
    """Apply a CSV of `name,rating[,club/region]` rows to this tournament's registrations.

    Names match the entrant names shown on the registration panel (case-insensitive). All or
    nothing: any bad row refuses the whole file, with every row's problem listed.
    """
    entrants = db.session.scalars(select(Registration).where(
        Registration.tournament_id == tournament.id).order_by(Registration.id)).unique().all()
    by_name: dict[str, Registration] = {}
    for registration in entrants:
        by_name.setdefault(registration.name.strip().lower(), registration)
    rows, errors = [], []
    reader = csv.reader(io.StringIO(text))
    for line, record in enumerate(reader, start=1):
        if not record or not any(cell.strip() for cell in record):
            continue
        if line == 1 and record[0].strip().lower() in ("name", "entrant", "player", "team"):
            continue
        if len(record) < 2 or len(record) > 3:
            errors.append(f"Line {line}: expected name,rating[,club/region].")
            continue
        name, rating_text = record[0].strip(), record[1].strip()
        registration = by_name.get(name.lower())
        if registration is None:
            errors.append(f"Line {line}: no entrant named “{name}” in this tournament.")
            continue
        try:
            rating = int(rating_text) if rating_text else None
            affiliation = record[2].strip() if len(record) == 3 else None
            _check_rating(rating, affiliation or "")
        except ValueError:
            errors.append(f"Line {line}: “{rating_text}” is not a whole number.")
            continue
        except Invalid as error:
            errors.append(f"Line {line}: {error.message}")
            continue
        rows.append((registration, rating, affiliation))
    if not rows and not errors:
        errors.append("The file has no rows.")
    if errors:
        raise Invalid("Nothing was imported. " + " ".join(errors[:20]),
                      {"file": "; ".join(errors[:20])})
    for registration, rating, affiliation in rows:
        if affiliation is None:
            existing = ratings_of(tournament, [registration])[registration.id]
            affiliation = existing.affiliation if existing else ""
        set_rating(actor, tournament, registration, rating, affiliation)
    audit.record(actor, "rating.import", tournament, tournament=tournament, rows=len(rows))
    return ImportResult(len(rows), [])


# --- manual drafts -----------------------------------------------------------------------


def draft(tournament: Tournament) -> SeedingDraft | None:
    return db.session.get(SeedingDraft, tournament.id)


def save_draft(actor: User, tournament: Tournament, registration_ids: Sequence[int],
               expected_version: int) -> SeedingDraft:
    """Save the organizer's seed order; refused when someone saved another one meanwhile."""
    registrations.lock(tournament)
    known = set(db.session.scalars(select(Registration.id).where(
        Registration.tournament_id == tournament.id)))
    ids = list(dict.fromkeys(registration_ids))
    if len(ids) != len(registration_ids):
        raise Invalid("Each entrant can have one seed only.", {"order": "Duplicate entrant."})
    if unknown := [i for i in ids if i not in known]:
        raise Invalid(f"Not entrants of this tournament: {unknown}.", {"order": "Unknown entrant."})
    row = draft(tournament)
    if (row.version if row else 0) != expected_version:
        raise Conflict("Someone saved another seed order since you opened this page; "
                       "here is the current one.")
    if row is None:
        row = SeedingDraft(tournament_id=tournament.id, registration_ids=ids,
                           updated_by_id=actor.id, version=1)
        db.session.add(row)
    else:
        row.registration_ids, row.updated_by_id, row.version = ids, actor.id, row.version + 1
    audit.record(actor, "seeding.draft_saved", tournament, tournament=tournament, order=ids)
    return row
