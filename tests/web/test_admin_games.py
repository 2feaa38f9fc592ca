"""Admin games pages: only site admins list, add, edit and delete games."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Game
from tests.conftest import login

GOOD = {"name": "Valorant", "team_size": "5", "lobby_fields": ["map", "room_code"]}


def _games() -> dict[str, tuple[int, list[str]]]:
    return {g.name: (g.team_size, g.lobby_fields) for g in db.session.scalars(select(Game))}


def _requests(game) -> dict[str, tuple[str, str, dict]]:
    return {
        "list": ("GET", "/admin/games", {}),
        "new_form": ("GET", "/admin/games/new", {}),
        "create": ("POST", "/admin/games/new", GOOD),
        "edit_form": ("GET", f"/admin/games/{game.id}/edit", {}),
        "update": ("POST", f"/admin/games/{game.id}/edit", {**GOOD, "name": "RL"}),
        "delete": ("POST", f"/admin/games/{game.id}/delete", {}),
    }


ACTIONS = ["list", "new_form", "create", "edit_form", "update", "delete"]


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_visitors_are_sent_to_log_in(client, game, action):
    method, url, data = _requests(game)[action]
    response = client.open(url, method=method, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert _games() == {"Rocket League": (3, ["room_code", "password", "region"])}


@pytest.mark.parametrize("role", ["player", "organizer"])
@pytest.mark.parametrize("action", ACTIONS)
def test_everyone_but_site_admins_is_refused(client, game, tournament, request, role, action):
    method, url, data = _requests(game)[action]
    login(client, request.getfixturevalue(role))
    assert client.open(url, method=method, data=data).status_code == 403
    assert _games() == {"Rocket League": (3, ["room_code", "password", "region"])}


@pytest.mark.parametrize("action", ACTIONS)
def test_site_admins_may_do_everything(client, game, admin, action):
    method, url, data = _requests(game)[action]
    login(client, admin)
    assert client.open(url, method=method, data=data).status_code == (
        200 if method == "GET" else 303)


def test_list_shows_each_game_with_its_lobby_fields_and_usage(client, admin, game, tournament):
    login(client, admin)
    body = client.get("/admin/games").get_data(as_text=True)
    assert "Rocket League" in body
    assert '<span class="badge">Room code</span>' in body
    assert "1 tournament<" in body
    assert "Delete Rocket League" not in body  # in use: no delete button


def test_creating_a_game(client, admin):
    login(client, admin)
    response = client.post("/admin/games/new", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/games"
    assert "Valorant added." in client.get("/admin/games").get_data(as_text=True)
    assert _games() == {"Valorant": (5, ["room_code", "map"])}
    assert db.session.scalar(select(AuditLog.action)) == "game.created"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**GOOD, "name": ""}, "name", "Enter the game&#39;s name."),
        ({**GOOD, "name": "x" * 65}, "name", "Field must be between 1 and 64 characters long."),
        ({**GOOD, "team_size": "0"}, "team_size", "Team size is a number from 1 to 16."),
        ({**GOOD, "team_size": "17"}, "team_size", "Team size is a number from 1 to 16."),
        ({**GOOD, "team_size": "five"}, "team_size", "Not a valid integer value."),
        ({**GOOD, "team_size": ""}, "team_size", "Enter a team size."),
        ({**GOOD, "lobby_fields": ["map", "cheats"]}, "lobby_fields",
         "&#39;cheats&#39; is not a valid choice for this field."),
        ({**GOOD, "name": "rocket league"}, "name", "A game named rocket league already exists."),
    ],
)
def test_bad_input_re_renders_the_form_with_the_field_error(client, admin, game, data, field,
                                                            message):
    login(client, admin)
    response = client.post("/admin/games/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please correct the highlighted fields" in body
    assert f'id="{field}-error"><p>{message}</p>' in body
    assert body.count('class="error"') == 1
    assert set(_games()) == {"Rocket League"}


def test_submitting_the_new_game_form_twice_creates_one_game(client, admin):
    login(client, admin)
    assert client.post("/admin/games/new", data=GOOD).status_code == 303
    second = client.post("/admin/games/new", data=GOOD)
    assert second.status_code == 400
    assert "A game named Valorant already exists." in second.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Game.id))) == 1


def test_edit_form_shows_the_current_values(client, admin, game):
    login(client, admin)
    body = client.get(f"/admin/games/{game.id}/edit").get_data(as_text=True)
    assert 'value="Rocket League"' in body and 'value="3"' in body
    assert body.count("checked") == 3  # room code, password, region


def test_editing_a_game(client, admin, game):
    login(client, admin)
    response = client.post(f"/admin/games/{game.id}/edit",
                           data={"name": "Rocket League", "team_size": "2"})
    assert response.status_code == 303
    assert "Rocket League saved." in client.get("/admin/games").get_data(as_text=True)
    assert _games() == {"Rocket League": (2, [])}  # every lobby field unticked


def test_editing_with_bad_input_changes_nothing(client, admin, game):
    login(client, admin)
    response = client.post(f"/admin/games/{game.id}/edit",
                           data={"name": "", "team_size": "40"})
    assert response.status_code == 400
    assert response.get_data(as_text=True).count('class="error"') >= 2
    assert _games() == {"Rocket League": (3, ["room_code", "password", "region"])}


def test_editing_a_missing_game_is_404(client, admin):
    login(client, admin)
    assert client.get("/admin/games/999/edit").status_code == 404


def test_deleting_an_unused_game(client, admin, game):
    login(client, admin)
    response = client.post(f"/admin/games/{game.id}/delete", follow_redirects=True)
    assert "Rocket League deleted." in response.get_data(as_text=True)
    assert _games() == {}


def test_deleting_a_game_in_use_is_refused_with_409_and_the_reason(client, admin, game,
                                                                   tournament):
    login(client, admin)
    response = client.post(f"/admin/games/{game.id}/delete")
    assert response.status_code == 409
    assert ("Rocket League cannot be deleted: 1 tournament uses it."
            in response.get_data(as_text=True))
    assert set(_games()) == {"Rocket League"}


def test_delete_is_post_only(client, admin, game):
    login(client, admin)
    assert client.get(f"/admin/games/{game.id}/delete").status_code == 405
    assert set(_games()) == {"Rocket League"}


def test_game_forms_need_their_csrf_token(app, client, admin, game, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login(client, admin)
    page = client.get("/admin/games/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/admin/games/new", data=GOOD).status_code == 400
    assert client.post(f"/admin/games/{game.id}/delete").status_code == 400
    assert set(_games()) == {"Rocket League"}
    listing = client.get("/admin/games").get_data(as_text=True)
    assert f'value="{token}"' in listing  # the delete button's form
    assert client.post(f"/admin/games/{game.id}/delete",
                       data={"csrf_token": token}).status_code == 303
    assert client.post("/admin/games/new", data={**GOOD, "csrf_token": token}).status_code == 303
    assert set(_games()) == {"Valorant"}
