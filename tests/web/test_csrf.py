"""CSRF: every state-changing endpoint refuses a request without the token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Team, TeamMember, Tournament
from tests.conftest import IsolatedClient, login


@pytest.fixture
def csrf_app(settings):
    from app import create_app

    application = create_app({**settings, "WTF_CSRF_ENABLED": True})
    application.test_client_class = IsolatedClient
    return application


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (AuditLog, Tournament, Team))


def test_no_post_endpoint_accepts_a_request_without_token(csrf_app, admin, tournament, game):
    team = Team(name="Csrf Team", captain_id=admin.id)
    team.members = [TeamMember(user_id=admin.id)]
    db.session.add(team)
    db.session.commit()
    values = {"slug": tournament.slug, "team_id": team.id, "game_id": game.id}
    client = csrf_app.test_client()
    login(client, admin)
    checked = 0
    for rule in csrf_app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        args = {name: values.get(name, 1) for name in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        before = counts()
        response = client.post(url, data={"name": "Changed"})
        assert response.status_code == 400, url
        assert "did not come from this site" in response.get_data(as_text=True)
        assert counts() == before, url
        checked += 1
    assert checked >= 5


def test_htmx_requests_pass_with_the_header_token(csrf_app, player):
    client = csrf_app.test_client()
    login(client, player)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)[1]
    response = client.post("/account/profile", data={"display_name": "Via Htmx"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302
    db.session.refresh(player)
    assert player.display_name == "Via Htmx"


def test_forms_carry_the_token(csrf_app, player):
    client = csrf_app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    assert 'name="csrf_token"' in page
