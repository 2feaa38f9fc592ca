"""Demo data: accounts, games, teams and a tournament in every status.

Idempotent: every object is looked up by its unique name first, so running the
command twice changes nothing. All demo accounts share one password (hashed
once, because scrypt is slow on purpose).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Format,
    Game,
    GrandFinal,
    PrizeMode,
    StaffMember,
    StaffRole,
    Status,
    Team,
    TeamMember,
    Tournament,
    User,
    Visibility,
    utcnow,
)

DEMO_PASSWORD = "demo-pass-123"
PLAYER_COUNT = 64
TEAM_NAMES = ["Night Owls", "Iron Wolves", "Solar Flare", "Blue Shift", "Red Comets",
              "Glitch Mob", "Pixel Pirates", "Frost Giants"]
GAMES = [("Street Brawler", 1, ["room_code", "region"]),
         ("Rocket Arena", 3, ["room_code", "password", "region", "map"])]


def load() -> dict[str, int]:
    """Create whatever demo data is missing; return counts of what was created."""
    created = {"users": 0, "games": 0, "teams": 0, "tournaments": 0}
    password_hash = generate_password_hash(DEMO_PASSWORD)
    users = _users(password_hash, created)
    games = _games(created)
    _teams(users, created)
    _tournaments(users, games, created)
    db.session.flush()
    from app import demo_brackets, demo_matches, demo_play

    created.update(demo_play.load(users))
    created.update(demo_brackets.load(users))
    db.session.flush()
    created.update(demo_matches.load())
    return created


def _user(username: str, display: str, password_hash: str, created: dict,
          admin: bool = False) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display, email=f"{username}@demo.example.com",
                    password_hash=password_hash, is_admin=admin)
        db.session.add(user)
        created["users"] += 1
    return user


def _users(password_hash: str, created: dict) -> dict[str, User]:
    users = {"admin": _user("admin", "Site Admin", password_hash, created, admin=True),
             "orga1": _user("orga1", "Olivia Organizer", password_hash, created),
             "orga2": _user("orga2", "Oscar Organizer", password_hash, created)}
    for n in range(1, PLAYER_COUNT + 1):
        name = f"player{n:02d}"
        users[name] = _user(name, f"Player {n:02d}", password_hash, created)
    db.session.flush()
    return users


def _games(created: dict) -> dict[str, Game]:
    games = {}
    for name, size, fields in GAMES:
        game = db.session.scalar(select(Game).where(Game.name == name))
        if game is None:
            game = Game(name=name, team_size=size, lobby_fields=fields)
            db.session.add(game)
            created["games"] += 1
        games[name] = game
    db.session.flush()
    return games


def _teams(users: dict[str, User], created: dict) -> None:
    for i, name in enumerate(TEAM_NAMES):
        if db.session.scalar(select(Team.id).where(Team.name == name)):
            continue
        roster = [users[f"player{i * 4 + k:02d}"] for k in range(1, 5)]
        team = Team(name=name, captain_id=roster[0].id)
        team.members = [TeamMember(user_id=u.id) for u in roster]
        db.session.add(team)
        created["teams"] += 1


def _tournaments(users: dict[str, User], games: dict[str, Game], created: dict) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    brawler, arena = games["Street Brawler"], games["Rocket Arena"]
    specs = [
        ("demo-cup", "Demo Cup", brawler, Status.LIVE, Format.DOUBLE_ELIMINATION,
         now - timedelta(hours=1), dict(capacity=32, grand_final=GrandFinal.RESET,
                                        best_of=3, best_of_finals=5, prize_pool=1000,
                                        prize_distribution=[50, 30, 20])),
        ("winter-open", "Winter Open", brawler, Status.REGISTRATION, Format.SINGLE_ELIMINATION,
         now + timedelta(days=10), dict(capacity=64, third_place_match=True, entry_fee=50,
                                        prize_distribution=[60, 30, 10])),
        ("arena-showdown", "Arena Showdown", arena, Status.CHECK_IN, Format.ROUND_ROBIN,
         now + timedelta(minutes=20), dict(capacity=8, team_based=True)),
        ("swiss-league", "Swiss League Night", brawler, Status.REGISTRATION, Format.SWISS,
         now + timedelta(days=3), dict(capacity=32)),
        ("summer-finals", "Summer Finals", arena, Status.COMPLETED, Format.SINGLE_ELIMINATION,
         now - timedelta(days=30), dict(capacity=8, team_based=True, prize_pool=500,
                                        prize_mode=PrizeMode.FIXED,
                                        prize_distribution=[300, 150, 50])),
        ("rainy-day-cup", "Rainy Day Cup", brawler, Status.CANCELLED, Format.SINGLE_ELIMINATION,
         now - timedelta(days=2), dict(capacity=16)),
        ("spring-draft", "Spring Invitational (draft)", arena, Status.DRAFT,
         Format.DOUBLE_ELIMINATION, now + timedelta(days=40), dict(capacity=16, team_based=True)),
        ("staff-scrims", "Staff Scrims", brawler, Status.REGISTRATION, Format.SINGLE_ELIMINATION,
         now + timedelta(days=1), dict(capacity=8, visibility=Visibility.PRIVATE)),
    ]
    for i, (slug, name, game, status, fmt, start, extra) in enumerate(specs):
        if db.session.scalar(select(Tournament.id).where(Tournament.slug == slug)):
            continue
        owner = users["orga1" if i % 2 == 0 else "orga2"]
        t = Tournament(slug=slug, name=name, game_id=game.id, status=status, format=fmt,
                       starts_at=start, checkin_opens_at=start - timedelta(minutes=30),
                       checkin_closes_at=start, registration_opens_at=start - timedelta(days=14),
                       registration_closes_at=start - timedelta(minutes=30),
                       created_by_id=owner.id, description=f"{name}: a demo tournament.",
                       **extra)
        t.staff = [StaffMember(user_id=owner.id, role=StaffRole.ORGANIZER)]
        if slug == "demo-cup":
            t.staff.append(StaffMember(user_id=users["orga2"].id, role=StaffRole.COORDINATOR))
        db.session.add(t)
        created["tournaments"] += 1
