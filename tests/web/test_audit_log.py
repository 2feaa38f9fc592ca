"""The tournament audit log page: staff only, newest first, filterable, paginated."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditLog, StaffMember, StaffRole
from app.services import audit_log
from tests.conftest import login


@pytest.fixture
def coordinator(make_user, tournament):
    user = make_user("coord")
    db.session.add(StaffMember(tournament_id=tournament.id, user_id=user.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    return user


def _log(tournament, actor, action: str, count: int = 1, **meta) -> None:
    for _ in range(count):
        db.session.add(AuditLog(actor_id=actor.id if actor else None, action=action,
                                object_type="tournament", object_id=tournament.id,
                                tournament_id=tournament.id, meta=meta, ip="203.0.113.9"))
    db.session.commit()


def _actions_shown(body: str) -> list[str]:
    return re.findall(r"<strong>([a-z_.]+)</strong>", body.replace("<wbr>", ""))


def test_anonymous_visitors_are_sent_to_log_in(client, tournament):
    response = client.get("/manage/t/spring-cup/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("role", "status"),
    [("player", 403), ("other_organizer", 403), ("coordinator", 200), ("organizer", 200),
     ("admin", 200)],
)
def test_who_may_read_the_log(client, tournament, make_tournament, request, role, status):
    make_tournament("other-cup", owner=request.getfixturevalue("other_organizer"))
    login(client, request.getfixturevalue(role))
    assert client.get("/manage/t/spring-cup/audit").status_code == status


def test_organizer_of_another_tournament_cannot_read_this_log(
    client, make_tournament, organizer, other_organizer
):
    theirs = make_tournament("theirs", owner=other_organizer)
    _log(theirs, other_organizer, "tournament.updated", secret="their-notes")
    login(client, organizer)
    response = client.get("/manage/t/theirs/audit")
    assert response.status_code == 403
    assert "their-notes" not in response.get_data(as_text=True)


def test_the_log_is_read_only(client, tournament, organizer):
    login(client, organizer)
    assert client.post("/manage/t/spring-cup/audit").status_code == 405


def test_lists_only_this_tournaments_entries_newest_first_with_their_details(
    client, make_tournament, organizer, player
):
    mine = make_tournament("mine")
    other = make_tournament("other")
    _log(mine, organizer, "tournament.created", name="Mine")
    _log(other, organizer, "tournament.deleted")
    _log(mine, player, "staff.added", username="player", role="coordinator")
    _log(mine, None, "tournament.status_changed", old="REGISTRATION", new="CHECK_IN")
    login(client, organizer)
    body = client.get("/manage/t/mine/audit").get_data(as_text=True)
    assert _actions_shown(body) == ["tournament.status_changed", "staff.added",
                                    "tournament.created"]
    assert "Player" in body and "@player" in body  # actor display name and username
    assert "System" in body  # an entry without an actor
    assert "username: player; role: coordinator" in body  # metadata summary
    assert f"tournament #{mine.id}" in body  # the object
    assert "IP 203.0.113.9" in body
    assert "<time datetime=" in body


def test_a_staff_change_appears_in_the_log_with_the_clients_ip(client, tournament, organizer,
                                                                player):
    login(client, organizer)
    client.post("/manage/t/spring-cup/staff", data={"username": "player", "role": "coordinator"})
    body = client.get("/manage/t/spring-cup/audit").get_data(as_text=True)
    assert _actions_shown(body) == ["staff.added"]
    assert "IP 127.0.0.1" in body and "Orga" in body


def test_filter_by_action_offers_only_the_actions_present(client, tournament, organizer):
    _log(tournament, organizer, "staff.added", 2)
    _log(tournament, organizer, "staff.removed")
    login(client, organizer)
    page = client.get("/manage/t/spring-cup/audit").get_data(as_text=True)
    select = page[page.index('<select id="action"'):page.index("</select>")]
    options = re.findall(r'<option (?:selected )?value="([^"]*)"', select)
    assert options == ["", "staff.added", "staff.removed"]
    body = client.get("/manage/t/spring-cup/audit?action=staff.removed").get_data(as_text=True)
    assert _actions_shown(body) == ["staff.removed"]
    assert '<option selected value="staff.removed">' in body


def test_filter_by_actor_username(client, tournament, organizer, player):
    _log(tournament, organizer, "staff.added")
    _log(tournament, player, "staff.removed")
    login(client, organizer)
    body = client.get("/manage/t/spring-cup/audit?actor=PLAYER").get_data(as_text=True)
    assert _actions_shown(body) == ["staff.removed"]
    assert '<option value="player">' in body  # the actor suggestions


def test_filters_combine(client, tournament, organizer, player):
    _log(tournament, organizer, "staff.added")
    _log(tournament, player, "staff.added")
    _log(tournament, player, "staff.removed")
    login(client, organizer)
    body = client.get("/manage/t/spring-cup/audit?actor=player&action=staff.added")
    assert _actions_shown(body.get_data(as_text=True)) == ["staff.added"]


def test_an_unknown_actor_says_so(client, tournament, organizer):
    _log(tournament, organizer, "staff.added")
    login(client, organizer)
    response = client.get("/manage/t/spring-cup/audit?actor=ghost")
    assert response.status_code == 200
    assert "There is no user named ghost." in response.get_data(as_text=True)
    assert _actions_shown(response.get_data(as_text=True)) == []


@pytest.mark.parametrize("query", ["before=abc", "before=0", "actor=" + "x" * 65])
def test_a_malformed_filter_is_a_400_showing_nothing(client, tournament, organizer, query):
    _log(tournament, organizer, "staff.added")
    login(client, organizer)
    response = client.get(f"/manage/t/spring-cup/audit?{query}")
    assert response.status_code == 400
    assert "This filter is not valid" in response.get_data(as_text=True)
    assert _actions_shown(response.get_data(as_text=True)) == []


def test_pages_of_fifty_follow_an_id_cursor(client, tournament, organizer):
    _log(tournament, organizer, "staff.added", 5)
    _log(tournament, organizer, "staff.removed", 50)
    login(client, organizer)
    first = client.get("/manage/t/spring-cup/audit").get_data(as_text=True)
    assert _actions_shown(first) == ["staff.removed"] * 50
    older = re.search(r'href="([^"]+)">Older entries', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert _actions_shown(second) == ["staff.added"] * 5
    assert "Older entries" not in second and "Newest" in second


def test_the_cursor_keeps_the_filter(client, tournament, organizer, player):
    _log(tournament, organizer, "staff.added", 3)
    _log(tournament, player, "staff.added", 3)
    page = audit_log.page(tournament, actor="orga", limit=2)
    assert len(page.entries) == 2 and page.older is not None
    rest = audit_log.page(tournament, actor="orga", before=page.older, limit=2)
    assert [e.actor_id for e in rest.entries] == [organizer.id]
    assert rest.older is None


def test_a_page_that_is_exactly_full_has_no_older_link(tournament, organizer):
    _log(tournament, organizer, "staff.added", 3)
    page = audit_log.page(tournament, limit=3)
    assert len(page.entries) == 3 and page.older is None


def test_empty_log(client, tournament, organizer):
    login(client, organizer)
    body = client.get("/manage/t/spring-cup/audit").get_data(as_text=True)
    assert "Nothing has been logged for this tournament yet." in body


def test_metadata_summary_is_short_and_readable():
    assert audit_log.summarize({"old": {"team_size": 3}, "new": {"team_size": 2}}) == (
        "old: team_size=3; new: team_size=2")
    assert audit_log.summarize({"fields": ["map", "region"], "none": []}) == (
        "fields: map, region; none: none")
    assert len(audit_log.summarize({"text": "x" * 500})) == audit_log.MAX_SUMMARY
    assert audit_log.summarize({}) == ""
