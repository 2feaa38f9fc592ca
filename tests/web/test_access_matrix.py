"""Every endpoint declares who may use it, and the declaration holds for every role.

The list of endpoints comes from the app's URL map, so a new view is checked
the day it is added; a view nobody classified fails here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Match, Team, TeamMember, Visibility
from app.services import brackets
from app.services.brackets import Options
from app.web import access
from app.web.access import rule_of
from tests.conftest import login

ROLES = ("anonymous", "player", "other_organizer", "organizer", "admin")
ALLOWED = {
    "anyone": set(ROLES),
    "signed_in": set(ROLES) - {"anonymous"},
    "site_admin": {"admin"},
    "tournament_viewer": {"organizer", "admin"},  # the fixture tournament is private
    "tournament_staff": {"organizer", "admin"},
    "tournament_organizer": {"organizer", "admin"},
    "match_viewer": {"organizer", "admin"},  # a match of the private fixture tournament
    "match_player": {"organizer", "admin"},  # (its sides act; the service checks who)
    "match_staff": {"organizer", "admin"},
    "team_member": {"player", "admin"},
    "team_captain": {"player", "admin"},
}
# Endpoints that are not ordinary views.
NOT_VIEWS = {"static"}


def endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_VIEWS or getattr(rule, "websocket", False):
            continue
        yield rule


def test_every_endpoint_declares_a_known_rule(app):
    known = {r.name for r in vars(access).values() if isinstance(r, access.Rule)}
    unclassified = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_VIEWS:
            continue
        declared = rule_of(app.view_functions[rule.endpoint])
        if declared is None or declared.name not in known:
            unclassified.append(rule.endpoint)
    assert unclassified == []
    assert set(ALLOWED) == known


@pytest.fixture
def world(admin, organizer, other_organizer, player, make_tournament, game, make_field):
    tournament = make_tournament("matrix", visibility=Visibility.PRIVATE, team_based=True)
    make_field(tournament, 2)  # two others play a match of it: `player` stays an outsider
    bracket = brackets.generate(organizer, tournament, Options(), 0)
    brackets.finalize(organizer, tournament, bracket.version)
    db.session.commit()
    match = db.session.scalar(select(Match).where(Match.bracket_id == bracket.id))
    make_tournament("elsewhere", owner=other_organizer)
    team = Team(name="Matrix Team", captain_id=player.id)
    team.members = [TeamMember(user_id=player.id)]
    db.session.add(team)
    db.session.commit()
    users = {"player": player, "other_organizer": other_organizer, "organizer": organizer,
             "admin": admin}
    values = {"slug": tournament.slug, "team_id": team.id, "game_id": game.id,
              "match_id": match.id}
    return users, values


def url_for_rule(rule, values) -> str:
    args = {}
    for name in rule.arguments:
        converter = rule._converters[name].__class__.__name__
        args[name] = values.get(name, 1 if converter == "IntegerConverter" else "x")
    return rule.build(args, append_unknown=False)[1]


def is_denial(response, role: str) -> bool:
    if role == "anonymous" and response.status_code == 302:
        return "/login" in response.headers["Location"]
    return response.status_code in (403, 404)


def audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditLog.id)))


def test_each_role_gets_exactly_what_its_rule_allows(app, world):
    users, values = world
    failures = []
    for rule in endpoints(app):
        declared = rule_of(app.view_functions[rule.endpoint])
        url = url_for_rule(rule, values)
        for role in ROLES:
            client = app.test_client()
            if role != "anonymous":
                login(client, users[role])
            allowed = role in ALLOWED[declared.name]
            if "GET" in rule.methods:
                response = client.get(url)
                if allowed and is_denial(response, role) and response.status_code != 404:
                    failures.append(f"GET {url} as {role}: {response.status_code}, expected access")
                if not allowed and not is_denial(response, role):
                    failures.append(f"GET {url} as {role}: {response.status_code}, expected denial")
            if "POST" in rule.methods and not allowed:
                before = audit_rows()
                response = client.post(url, data={})
                if not is_denial(response, role):
                    failures.append(f"POST {url} as {role}: {response.status_code}, "
                                    "expected denial")
                if audit_rows() != before:
                    failures.append(f"POST {url} as {role} changed something")
    assert failures == []
