"""Games service: site admins add, edit and delete games."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Game
from app.services import games
from app.services.errors import Conflict, Invalid, NotAllowed


def _count_games() -> int:
    return db.session.scalar(select(func.count(Game.id)))


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_create_stores_a_clean_game_and_audits_it(admin):
    game = games.create(admin, "  Street   Fighter 6 ", 1, ["region", "room_code", "region"])
    db.session.commit()
    assert (game.name, game.team_size) == ("Street Fighter 6", 1)
    assert game.lobby_fields == ["room_code", "region"]  # display order, each once
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "game.created"))
    assert row.actor_id == admin.id and row.object_id == game.id
    assert row.meta["name"] == "Street Fighter 6"


def test_create_without_lobby_fields_is_allowed(admin):
    game = games.create(admin, "Chess", 1, [])
    assert game.lobby_fields == []


def test_name_is_unique_regardless_of_letter_case(admin, game):
    with pytest.raises(Invalid) as caught:
        games.create(admin, "rocket LEAGUE", 2, [])
    assert caught.value.fields["name"] == "A game named rocket LEAGUE already exists."
    db.session.rollback()
    assert _count_games() == 1


@pytest.mark.parametrize(
    ("name", "team_size", "fields", "bad"),
    [
        ("", 1, [], "name"),
        ("   ", 1, [], "name"),
        ("x" * 65, 1, [], "name"),
        ("Tetris", 0, [], "team_size"),
        ("Tetris", 17, [], "team_size"),
        ("Tetris", None, [], "team_size"),
        ("Tetris", 1, ["room_code", "cheat_code"], "lobby_fields"),
    ],
)
def test_bad_input_is_refused_field_by_field(admin, name, team_size, fields, bad):
    with pytest.raises(Invalid) as caught:
        games.create(admin, name, team_size, fields)
    assert set(caught.value.fields) == {bad}
    db.session.rollback()
    assert _count_games() == 0 and _audit_actions() == []


def test_every_bad_field_is_reported_at_once(admin):
    with pytest.raises(Invalid) as caught:
        games.create(admin, "", 99, ["nope"])
    assert set(caught.value.fields) == {"name", "team_size", "lobby_fields"}


def test_team_size_bounds_are_inclusive(admin):
    assert games.create(admin, "Solo", 1, []).team_size == 1
    assert games.create(admin, "Huge", 16, []).team_size == 16


def test_only_site_admins_manage_games(organizer, game):
    with pytest.raises(NotAllowed):
        games.create(organizer, "Tetris", 1, [])
    with pytest.raises(NotAllowed):
        games.update(organizer, game, "Renamed", 1, [])
    with pytest.raises(NotAllowed):
        games.delete(organizer, game)
    db.session.rollback()
    assert db.session.get(Game, game.id).name == "Rocket League"


def test_update_changes_the_game_and_audits_old_and_new_values(admin, game):
    games.update(admin, game, "Rocket League 2", 2, ["password"])
    db.session.commit()
    game = db.session.get(Game, game.id)
    assert (game.name, game.team_size, game.lobby_fields) == ("Rocket League 2", 2, ["password"])
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "game.updated"))
    assert row.meta["old"] == {"name": "Rocket League", "team_size": 3,
                               "lobby_fields": ["room_code", "password", "region"]}
    assert row.meta["new"] == {"name": "Rocket League 2", "team_size": 2,
                               "lobby_fields": ["password"]}


def test_update_may_change_only_the_letter_case_of_its_own_name(admin, game):
    games.update(admin, game, "ROCKET LEAGUE", 3, game.lobby_fields)
    db.session.commit()
    assert db.session.get(Game, game.id).name == "ROCKET LEAGUE"


def test_update_to_another_games_name_is_refused(admin, game):
    games.create(admin, "Valorant", 5, [])
    db.session.commit()
    with pytest.raises(Invalid) as caught:
        games.update(admin, game, "valorant", 3, [])
    assert "already exists" in caught.value.fields["name"]
    db.session.rollback()
    assert db.session.get(Game, game.id).name == "Rocket League"


def test_update_with_bad_input_changes_nothing(admin, game):
    with pytest.raises(Invalid):
        games.update(admin, game, "New name", 40, ["room_code"])
    db.session.rollback()
    game = db.session.get(Game, game.id)
    assert (game.name, game.team_size) == ("Rocket League", 3)


def test_saving_unchanged_values_writes_no_audit_row(admin, game):
    games.update(admin, game, "Rocket League", 3, ["region", "password", "room_code"])
    db.session.commit()
    assert "game.updated" not in _audit_actions()


def test_delete_removes_an_unused_game_and_audits_it(admin, game):
    game_id = game.id
    games.delete(admin, game)
    db.session.commit()
    assert db.session.get(Game, game_id) is None
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "game.deleted"))
    assert row.object_id == game_id and row.meta == {"name": "Rocket League"}


def test_a_game_used_by_a_tournament_cannot_be_deleted(admin, game, make_tournament):
    make_tournament("cup-one")
    make_tournament("cup-two")
    with pytest.raises(Conflict) as caught:
        games.delete(admin, game)
    assert caught.value.status == 409
    assert "2 tournaments use it" in caught.value.message
    db.session.rollback()
    assert db.session.get(Game, game.id) is not None
    assert "game.deleted" not in _audit_actions()


def test_list_is_alphabetical_ignoring_case_and_counts_usage(admin, game, make_tournament):
    games.create(admin, "apex Legends", 3, [])
    games.create(admin, "Zelda Speedrun", 1, [])
    db.session.commit()
    make_tournament("cup")
    assert [g.name for g in games.list_games()] == ["apex Legends", "Rocket League",
                                                    "Zelda Speedrun"]
    assert games.usage_counts() == {game.id: 1}
