"""The demo command: idempotent, and shows every status."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Game, Status, Team, Tournament, User, Visibility


def test_demo_loads_everything_once(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo logins (password for all: demo-pass-123)" in first.output
    second = runner.invoke(args=["demo"])
    assert "nothing new" in second.output
    assert db.session.scalar(select(func.count(User.id))) == 67
    assert db.session.scalar(select(func.count(User.id)).where(User.is_admin)) == 1
    assert db.session.scalar(select(func.count(Game.id))) == 2
    assert db.session.scalar(select(func.count(Team.id))) == 8
    statuses = set(db.session.scalars(select(Tournament.status)))
    assert statuses == set(Status)
    cup = db.session.scalar(select(Tournament).where(Tournament.slug == "demo-cup"))
    assert cup.visibility == Visibility.PUBLIC


def test_demo_passwords_work(runner, client):
    runner.invoke(args=["demo"])
    response = client.post("/login", data={"username": "orga1", "password": "demo-pass-123"})
    assert response.status_code == 302
