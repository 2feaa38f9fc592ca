"""Demo brackets, one of each format, made through the generation service.

Idempotent like the rest of the demo: a tournament that has a bracket already is left alone.
- demo-cup (live): 32 players, double elimination with a grand-final reset, ranked seeding
  from the demo ratings, finalized (then partly played by `app.demo_matches`);
- rookie-knockout (check-in): 12 players, one not checked in (left out, with the reason),
  single elimination with a third-place match, random draw, not finalized yet;
- arena-showdown (check-in): round robin of the 4 checked-in teams, not finalized;
- swiss-masters (live): 16 players, Swiss, registration order, finalized;
- group-stage-cup (live): 12 players in 3 round-robin groups (snake seeding), finalized.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Format,
    Game,
    MemberRole,
    Rating,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    SeedingMethod,
    StaffMember,
    StaffRole,
    Status,
    Tournament,
    User,
    utcnow,
)
from app.services import brackets
from app.services.brackets import Options

RANDOM_DRAW = 2026


def load(users: dict[str, User]) -> dict[str, int]:
    created = {"brackets": 0}
    brawler = db.session.scalar(select(Game).where(Game.name == "Street Brawler"))
    _ratings(users, brawler)
    organizer = users["orga1"]
    extra = [
        ("rookie-knockout", "Rookie Knockout", Status.CHECK_IN, Format.SINGLE_ELIMINATION,
         timedelta(minutes=15), dict(capacity=16, third_place_match=True)),
        ("swiss-masters", "Swiss Masters", Status.LIVE, Format.SWISS, -timedelta(minutes=30),
         dict(capacity=16, best_of=3)),
        ("group-stage-cup", "Group Stage Cup", Status.LIVE, Format.ROUND_ROBIN,
         -timedelta(minutes=45), dict(capacity=16)),
    ]
    for slug, name, status, fmt, start, fields in extra:
        _tournament(slug, name, status, fmt, start, fields, brawler, organizer)
    db.session.flush()
    plans = [
        ("demo-cup", range(1, 33), 0, Options(seeding=SeedingMethod.RANKED), True),
        ("rookie-knockout", range(41, 53), 1,
         Options(seeding=SeedingMethod.RANDOM, rng_seed=RANDOM_DRAW), False),
        ("arena-showdown", None, 0, Options(), False),
        ("swiss-masters", range(33, 49), 0, Options(), True),
        ("group-stage-cup", range(49, 61), 0, Options(groups=3, advance=2), True),
    ]
    for slug, players, absent, options, final in plans:
        t = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
        if t is None or brackets.current(t) is not None:
            continue
        if players is not None:
            _field(t, [users[f"player{n:02d}"] for n in players], absent)
        owner = db.session.get(User, t.created_by_id) or organizer
        brackets.generate(owner, t, options, 0)
        if final:
            brackets.finalize(owner, t, brackets.version_of(t))
        created["brackets"] += 1
    return created


def _tournament(slug: str, name: str, status: Status, fmt: Format, start: timedelta,
                fields: dict, game: Game, owner: User) -> None:
    if db.session.scalar(select(Tournament.id).where(Tournament.slug == slug)):
        return
    starts = utcnow().replace(second=0, microsecond=0) + start
    t = Tournament(slug=slug, name=name, game_id=game.id, status=status, format=fmt,
                   starts_at=starts, checkin_opens_at=starts - timedelta(minutes=30),
                   checkin_closes_at=starts, registration_opens_at=starts - timedelta(days=7),
                   registration_closes_at=starts - timedelta(minutes=30),
                   created_by_id=owner.id, description=f"{name}: a demo tournament.", **fields)
    t.staff = [StaffMember(user_id=owner.id, role=StaffRole.ORGANIZER)]
    db.session.add(t)


def _field(tournament: Tournament, players: list[User], absent: int) -> None:
    """Confirmed registrations written directly (these tournaments' windows are past);
    the last `absent` players did not check in."""
    if db.session.scalar(select(Registration.id).where(
            Registration.tournament_id == tournament.id)):
        return
    now = utcnow()
    for i, player in enumerate(players):
        registration = Registration(
            tournament_id=tournament.id, user_id=player.id, status=RegistrationStatus.CONFIRMED,
            active=True, checked_in_at=None if i >= len(players) - absent else now)
        registration.members = [RegistrationMember(tournament_id=tournament.id, user_id=player.id,
                                                   role=MemberRole.PLAYER)]
        db.session.add(registration)
    db.session.flush()


def _ratings(users: dict[str, User], game: Game) -> None:
    """Street Brawler ratings for the demo players (a few tied, a few missing)."""
    if db.session.scalar(select(Rating.id).where(Rating.game_id == game.id)):
        return
    clubs = ["North", "South", "East", "West"]
    for n in range(1, 61):
        if n % 11 == 0:
            continue  # no rating: seeded last in ranked draws
        db.session.add(Rating(game_id=game.id, user_id=users[f"player{n:02d}"].id,
                              rating=2400 - 25 * n + (25 if n % 7 == 0 else 0),
                              affiliation=clubs[n % 4]))
