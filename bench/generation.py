"""Generate and persist a bracket through the app's service, timed, on one database.

Run: .venv/bin/python bench/generation.py [--database sqlite|postgresql://...] [--entrants 1024]
     [--format double_elimination] [--repeat 5]

Builds a fresh schema (a temporary SQLite file, or a scratch PostgreSQL database created and
dropped by the script), fills a tournament with N confirmed, checked-in registrations, then
times `services.brackets.generate` plus its commit: the first generation, then regenerations
(each replaces the previous bracket in one transaction, as an organizer's "Regenerate" does).
Prints one line per database with the medians. bench/brackets.py runs it for SQLite and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRATCH_DB = "bracketeer_bench_generation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--entrants", type=int, default=1024)
    parser.add_argument("--format", default="double_elimination")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        url, cleanup = scratch_database(args.database, instance)
        try:
            first, again, matches = run(url, instance, args)
        finally:
            cleanup()
    label = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"generate+persist {args.entrants} {args.format.replace('_', ' ')} on {label}: "
          f"first {first:.0f} ms, regenerate median {statistics.median(again):.0f} ms "
          f"(min {min(again):.0f}, max {max(again):.0f}, {len(again)} runs; {matches} matches)")


def scratch_database(choice: str, instance: str, name: str = SCRATCH_DB):
    """A temporary SQLite file, or a scratch PostgreSQL database `name` dropped afterwards:
    (its URL, the function that drops it)."""
    if choice == "sqlite":
        return f"sqlite:///{instance}/bench.sqlite3", lambda: None
    import psycopg2

    base = choice.rsplit("/", 1)[0]
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()

    return f"{base}/{name}", drop


def run(url: str, instance: str, args: argparse.Namespace) -> tuple[float, list[float], int]:
    from flask_migrate import upgrade

    from app import create_app
    from app.database import write_intent
    from app.extensions import db
    from app.services import bracket_rows, brackets

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": instance,
                      "SECRET_KEY": "bench", "REDIS_URL": None, "JOBS_BACKEND": "inprocess",
                      "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade()
        tournament, organizer = _fill(args.entrants, args.format)
        times = []
        for _ in range(1 + args.repeat):
            with write_intent():
                start = time.perf_counter()
                bracket = brackets.generate(organizer, tournament, brackets.Options(),
                                            brackets.version_of(tournament))
                db.session.commit()
                times.append((time.perf_counter() - start) * 1000)
        matches = len(bracket_rows.load(bracket)[2])
        db.session.remove()
        db.engine.dispose()
    return times[0], times[1:], matches


def _fill(entrants: int, fmt: str):

    from app.database import write_intent
    from app.extensions import db
    from app.models import (
        Game,
        StaffMember,
        StaffRole,
        Status,
        Tournament,
        User,
        utcnow,
    )

    now = utcnow()
    with write_intent():
        organizer = User(username="orga", display_name="Orga", email="orga@example.test",
                         password_hash="x")
        game = Game(name="Bench", team_size=1, lobby_fields=[])
        db.session.add_all([organizer, game])
        db.session.flush()
        tournament = Tournament(
            slug="bench", name="Bench", game_id=game.id, format=fmt, capacity=4096,
            status=Status.CHECK_IN, starts_at=now + timedelta(minutes=5),
            created_by_id=organizer.id)
        tournament.staff.append(StaffMember(user_id=organizer.id, role=StaffRole.ORGANIZER))
        db.session.add(tournament)
        db.session.flush()
        add_players(tournament, entrants)
        db.session.commit()
    return tournament, organizer


def add_players(tournament, entrants: int, password_hash: str = "x") -> None:
    """`entrants` players registered, confirmed and checked in (bulk inserts, no commit)."""
    import uuid

    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Registration, RegistrationMember, User, utcnow

    now = utcnow()
    db.session.execute(insert(User), [
        {"username": f"p{i:04d}", "display_name": f"Player {i + 1}",
         "email": f"p{i:04d}@example.test", "password_hash": password_hash,
         "session_token": uuid.uuid4().hex} for i in range(entrants)])
    users = db.session.scalars(select(User.id).where(User.username.like("p%"))
                               .order_by(User.id)).all()
    db.session.execute(insert(Registration), [
        {"tournament_id": tournament.id, "user_id": u, "status": "CONFIRMED",
         "active": True, "checked_in_at": now, "version": 1} for u in users])
    registrations = db.session.execute(select(Registration.id, Registration.user_id).where(
        Registration.tournament_id == tournament.id)).all()
    db.session.execute(insert(RegistrationMember), [
        {"registration_id": r, "tournament_id": tournament.id, "user_id": u,
         "role": "PLAYER", "active": True} for r, u in registrations])


if __name__ == "__main__":
    main()
