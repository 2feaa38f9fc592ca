"""The match page through HTTP: what each role sees, the sides' forms, refusals that change
nothing, and the evidence of a report."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    Match,
    MatchState,
    Notification,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Visibility,
)
from app.services import brackets, matches
from app.services import match_control as control
from tests.conftest import login
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import row, side_user
from tests.integration.test_registrations import do

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def cup(make_tournament):
    return make_tournament("page-cup", status=Status.LIVE, capacity=16, best_of=3,
                           visibility=Visibility.PUBLIC)


@pytest.fixture
def played(cup, make_field, organizer):
    """A finalized 4-entrant single elimination (bo3 semis, bo3 final)."""
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    do(lambda: brackets.finalize(organizer, cup, bracket.version))
    return bracket






def url(cup, match, action=""):
    return f"/t/{cup.slug}/m/{match.id}" + (f"/{action}" if action else "")


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


def audits() -> int:
    return db.session.scalar(select(func.count(AuditLog.id)))


def refreshed(match) -> Match:
    db.session.refresh(match)
    return match


def test_a_spectator_sees_the_sides_and_state_but_no_forms(client, cup, played):
    semi = row(played, 0)
    page = client.get(url(cup, semi))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    a, b = matches.registrations_of(semi)
    assert a.name in html and b.name in html
    assert "Check-in open" in html
    assert "Report the score" not in html and 'action="' + url(cup, semi, "check-in") not in html
    assert f'hx-ws:connect="/ws?room=match:{semi.id}&amp;since=' in html


def test_two_players_check_in_report_and_confirm_through_the_page(app, cup, played):
    semi = row(played, 0)
    a, b = as_user(app, side_user(semi, 0)), as_user(app, side_user(semi, 1))
    for client in (a, b):
        response = client.post(url(cup, semi, "check-in"),
                               data={"version": refreshed(semi).version})
        assert response.status_code == 303
    assert refreshed(semi).state == MatchState.READY
    page = a.get(url(cup, semi)).get_data(as_text=True)
    assert "Report the score" in page and 'name="game-3-b"' in page  # bo3: three game rows
    reported = a.post(url(cup, semi, "report"), data={
        "version": semi.version, "game-1-a": "3", "game-1-b": "1", "game-2-a": "1",
        "game-2-b": "3", "game-3-a": "2", "game-3-b": "0",
        "links": "https://example.com/vod"}, follow_redirects=True)
    assert "Score reported" in reported.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.PENDING_RESULT
    answer = b.get(url(cup, semi)).get_data(as_text=True)
    assert "Your opponent reported this score" in answer and "2–1" in answer
    confirmed = b.post(url(cup, semi, "confirm"), data={"version": refreshed(semi).version},
                       follow_redirects=True)
    assert "Result confirmed" in confirmed.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.COMPLETED
    final = row(played, 2)
    assert final.seed_a == semi.winner_seed
    assert "Winner" in b.get(url(cup, semi)).get_data(as_text=True)


def test_an_illegal_series_is_refused_with_the_reason_and_the_typed_games_kept(app, cup,
                                                                              played):
    semi = row(played, 0)
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(semi, s), semi, refreshed(semi).version))
    a = as_user(app, side_user(semi, 0))
    before = audits()
    response = a.post(url(cup, semi, "report"), data={
        "version": refreshed(semi).version, "game-1-a": "2", "game-1-b": "0",
        "game-2-a": "2", "game-2-b": "0", "game-3-a": "2", "game-3-b": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The series was over after game 2" in html
    assert 'name="game-3-b" value="1"' in html
    assert refreshed(semi).state == MatchState.READY and audits() == before


@pytest.mark.parametrize("games, message", [
    ({"game-1-a": "2"}, "Game 1: enter both scores."),
    ({"game-1-a": "x", "game-1-b": "1"}, "Game 1: scores are whole numbers"),
    ({"game-2-a": "1", "game-2-b": "0"}, "Game 1 is empty but game 2 is not"),
    ({}, "Enter the score of each game played."),
])
def test_score_typos_are_explained_and_change_nothing(app, cup, played, games, message):
    semi = row(played, 0)
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(semi, s), semi, refreshed(semi).version))
    response = as_user(app, side_user(semi, 0)).post(
        url(cup, semi, "report"), data={"version": refreshed(semi).version, **games})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.READY


def test_a_form_from_a_stale_page_is_refused_and_shows_the_match_as_it_is(app, cup, played):
    semi = row(played, 0)
    stale = semi.version
    do(lambda: control.check_in(side_user(semi, 0), semi, semi.version))
    before = audits()
    response = as_user(app, side_user(semi, 1)).post(url(cup, semi, "check-in"),
                                                     data={"version": stale})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This match changed since you opened it" in html
    assert f'name="version" type="hidden" value="{refreshed(semi).version}"' in html
    assert audits() == before


def test_a_double_clicked_confirmation_confirms_once(app, cup, played):
    semi = row(played, 0)
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(semi, s), semi, refreshed(semi).version))
    from app.services import results

    do(lambda: results.report(side_user(semi, 0), semi, [(1, 0), (1, 0)],
                              refreshed(semi).version))
    b = as_user(app, side_user(semi, 1))
    version = refreshed(semi).version
    first = b.post(url(cup, semi, "confirm"), data={"version": version})
    second = b.post(url(cup, semi, "confirm"), data={"version": version})
    assert (first.status_code, second.status_code) == (303, 409)
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "match.confirmed")) == 1


def test_outsiders_cannot_act_on_a_match_and_nothing_changes(app, cup, played, make_user):
    semi = row(played, 0)
    stranger = as_user(app, make_user("stranger"))
    before, state = audits(), semi.state
    response = stranger.post(url(cup, semi, "check-in"), data={"version": semi.version})
    assert response.status_code == 403
    assert refreshed(semi).state == state and semi.checked_in_a_at is None
    assert audits() == before


def test_a_match_of_another_tournament_or_of_a_draft_bracket_is_not_found(
        app, client, cup, played, make_tournament, make_field, organizer):
    other = make_tournament("other-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)
    make_field(other, 2)
    draft = generate(organizer, other)
    draft_match = row(draft, 0)
    assert client.get(f"/t/{cup.slug}/m/{draft_match.id}").status_code == 404
    assert client.get(f"/t/{other.slug}/m/{draft_match.id}").status_code == 404
    assert as_user(app, organizer).get(f"/t/{other.slug}/m/{draft_match.id}").status_code == 200


def test_a_rejection_needs_a_reason_and_then_disputes_the_match(app, cup, played):
    semi = row(played, 0)
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(semi, s), semi, refreshed(semi).version))
    from app.services import results

    do(lambda: results.report(side_user(semi, 0), semi, [(1, 0), (1, 0)],
                              refreshed(semi).version))
    b = as_user(app, side_user(semi, 1))
    empty = b.post(url(cup, semi, "reject"), data={"reject-version": refreshed(semi).version,
                                                   "reject-reason": ""})
    assert empty.status_code == 400 and "Give a reason" in empty.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.PENDING_RESULT
    done = b.post(url(cup, semi, "reject"), data={"reject-version": semi.version,
                                                  "reject-reason": "It was 2-1 for us"},
                  follow_redirects=True)
    assert "the staff will settle" in done.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.DISPUTED


def test_screenshots_are_checked_by_content_and_shown_only_to_the_sides_and_staff(
        app, client, cup, played, organizer, make_user):
    semi = row(played, 0)
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(semi, s), semi, refreshed(semi).version))
    a = as_user(app, side_user(semi, 0))
    disguised = a.post(url(cup, semi, "report"), data={
        "version": refreshed(semi).version, "game-1-a": "1", "game-1-b": "0", "game-2-a": "1",
        "game-2-b": "0", "screenshots": (io.BytesIO(b"<html>hi</html>"), "shot.png")},
        content_type="multipart/form-data")
    assert disguised.status_code == 400
    assert "named like a PNG but its content is an HTML page" in disguised.get_data(as_text=True)
    assert refreshed(semi).state == MatchState.READY
    ok = a.post(url(cup, semi, "report"), data={
        "version": refreshed(semi).version, "game-1-a": "1", "game-1-b": "0", "game-2-a": "1",
        "game-2-b": "0", "screenshots": (io.BytesIO(PNG), "shot.png")},
        content_type="multipart/form-data")
    assert ok.status_code == 303
    report = db.session.scalar(select(ResultSubmission).where(
        ResultSubmission.match_id == semi.id))
    assert report.status == SubmissionStatus.PENDING and len(report.evidence) == 1
    shot = url(cup, semi, f"evidence/{report.id}/0")
    for viewer in (a, as_user(app, side_user(semi, 1)), as_user(app, organizer)):
        response = viewer.get(shot)
        assert response.status_code == 200 and response.data == PNG
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert as_user(app, make_user("nosy")).get(shot).status_code == 403
    assert client.get(shot).status_code == 302  # to the login page


def test_the_lobby_is_shown_to_the_two_sides_and_staff_only(app, client, cup, played, game,
                                                            organizer):
    semi = row(played, 0)
    do(lambda: control.set_details(organizer, semi, semi.version, coordinator_id=organizer.id,
                                   lobby={"room_code": "ROOM-77", "password": "hunter2"},
                                   stream_url="https://twitch.tv/demo"))
    for viewer in (as_user(app, side_user(semi, 0)), as_user(app, organizer)):
        assert "hunter2" in viewer.get(url(cup, semi)).get_data(as_text=True)
    public = client.get(url(cup, semi)).get_data(as_text=True)
    assert "hunter2" not in public and "ROOM-77" not in public
    assert "https://twitch.tv/demo" in public and organizer.display_name in public
    other = matches.registrations_of(row(played, 1))[0].user
    assert "hunter2" not in as_user(app, other).get(url(cup, semi)).get_data(as_text=True)


def test_my_matches_says_what_to_do_next_and_notifications_can_be_read(app, cup, played):
    semi = row(played, 0)
    player = side_user(semi, 0)
    client = as_user(app, player)
    mine = client.get("/me/matches").get_data(as_text=True)
    assert "Check in now" in mine and cup.name in mine
    do(lambda: control.check_in(player, semi, semi.version))
    assert "waiting for your opponent" in client.get("/me/matches/list").get_data(as_text=True)
    from datetime import timedelta

    from app.models import utcnow
    from app.services import match_schedule

    organizer = db.session.get(type(player), cup.created_by_id)
    do(lambda: match_schedule.schedule(organizer, semi, utcnow() + timedelta(hours=2),
                                       refreshed(semi).version))
    notices = client.get("/me/notifications").get_data(as_text=True)
    assert "M1 is scheduled" in notices and "Mark all as read" in notices
    newest = db.session.scalar(select(func.max(Notification.id)).where(
        Notification.user_id == player.id))
    assert client.post("/me/notifications/read", data={"version": newest}).status_code == 303
    assert "Mark all as read" not in client.get("/me/notifications").get_data(as_text=True)


def test_the_bracket_links_each_match_to_its_page(client, cup, played):
    html = client.get(f"/t/{cup.slug}/bracket").get_data(as_text=True)
    for number in range(3):
        assert f'href="{url(cup, row(played, number))}"' in html
