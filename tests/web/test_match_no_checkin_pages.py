"""The "players check in to each match" setting: the edit form and the match page."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditLog, MatchState, Status
from app.services import brackets
from tests.conftest import login
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import row, side_user
from tests.integration.test_registrations import do
from tests.web.test_match_pages import as_user, refreshed, url
from tests.web.test_tournament_pages import form_data


def test_the_organizer_turns_match_check_in_off_on_the_edit_form(client, organizer,
                                                                   tournament):
    login(client, organizer)
    assert '<input checked id="match_checkin" name="match_checkin"' in client.get(
        "/manage/t/spring-cup/edit").get_data(as_text=True)  # on by default
    data = form_data(tournament.game, slug="spring-cup",
                     starts_at=tournament.starts_at.strftime("%Y-%m-%dT%H:%M"))
    del data["match_checkin"]  # an unticked box is not sent
    assert client.post("/manage/t/spring-cup/edit", data=data).status_code == 302
    db.session.refresh(tournament)
    assert tournament.match_checkin is False
    edit = client.get("/manage/t/spring-cup/edit").get_data(as_text=True)
    assert '<input id="match_checkin" name="match_checkin" type="checkbox"' in edit
    audit = db.session.query(AuditLog).filter_by(action="tournament.updated").one()
    assert "match_checkin" in audit.meta["changed"]
    refused = client.post("/manage/t/spring-cup/edit", data={**data, "auto_forfeit_no_shows": "y"})
    assert refused.status_code == 400 and "nobody is a no-show" in refused.get_data(as_text=True)
    db.session.refresh(tournament)
    assert tournament.auto_forfeit_no_shows is False


def test_without_check_in_the_players_report_and_confirm_from_the_page(app, make_tournament,
                                                                       make_field, organizer):
    cup = make_tournament("open-page-cup", status=Status.LIVE, capacity=16,
                          match_checkin=False)
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    do(lambda: brackets.finalize(organizer, cup, bracket.version))
    semi = row(bracket, 0)
    a, b = as_user(app, side_user(semi, 0)), as_user(app, side_user(semi, 1))
    page = a.get(url(cup, semi)).get_data(as_text=True)
    assert "the players report the score once they have played" in page
    assert "Report the score" in page and url(cup, semi, "check-in") not in page
    refused = a.post(url(cup, semi, "check-in"), data={"version": semi.version})
    assert refused.status_code == 409 and "does not use match check-in" in refused.get_data(
        as_text=True)
    reported = a.post(url(cup, semi, "report"), data={
        "version": refreshed(semi).version, "game-1-a": "1", "game-1-b": "0", "links": ""})
    assert reported.status_code == 303 and refreshed(semi).state == MatchState.PENDING_RESULT
    confirmed = b.post(url(cup, semi, "confirm"), data={"version": refreshed(semi).version})
    assert confirmed.status_code == 303 and refreshed(semi).state == MatchState.COMPLETED
