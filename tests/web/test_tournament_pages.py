"""Organizer and public tournament pages."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Status, Tournament, Visibility, utcnow
from tests.conftest import login


def form_data(game, **overrides) -> dict:
    start = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    data = {"name": "Friday Fights", "slug": "", "game": game.id, "format": "single_elimination",
            "team_based": "team", "capacity": 16, "visibility": "public", "timezone": "UTC",
            "starts_at": start, "best_of": 1, "best_of_finals": 3, "grand_final": "single",
            "auto_confirm_hours": 24, "match_checkin": "y", "match_checkin_minutes": 15,
            "entry_fee": 0, "prize_pool": 0, "prize_mode": "percent", "prize_distribution": "",
            "request_key": "form-key-1"}
    data.update(overrides)
    return data


def test_match_check_in_window_and_no_show_forfeits_are_tournament_settings(client, organizer,
                                                                            game):
    login(client, organizer)
    bad = client.post("/manage/tournaments/new",
                      data=form_data(game, match_checkin_minutes=-5))
    assert bad.status_code == 400 and db.session.scalar(select(func.count(Tournament.id))) == 0
    client.post("/manage/tournaments/new", data=form_data(
        game, match_checkin_minutes=30, auto_forfeit_no_shows="y"))
    made = db.session.scalar(select(Tournament))
    assert (made.match_checkin_minutes, made.auto_forfeit_no_shows) == (30, True)


def test_organizer_creates_a_tournament(client, organizer, game):
    login(client, organizer)
    response = client.post("/manage/tournaments/new", data=form_data(game))
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/t/friday-fights/"
    page = client.get("/manage/t/friday-fights/").get_data(as_text=True)
    assert "Friday Fights" in page and "Publish and open registration" in page


def test_double_submitted_create_form_makes_one_tournament(client, organizer, game):
    login(client, organizer)
    first = client.post("/manage/tournaments/new", data=form_data(game))
    second = client.post("/manage/tournaments/new", data=form_data(game))
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Tournament.id))) == 1


def test_times_are_read_in_the_chosen_zone(client, organizer, game):
    login(client, organizer)
    client.post("/manage/tournaments/new", data=form_data(
        game, timezone="Europe/Berlin", starts_at="2030-07-01T20:00"))
    t = db.session.scalar(select(Tournament))
    assert t.starts_at.isoformat() == "2030-07-01T18:00:00+00:00"
    edit = client.get(f"/manage/t/{t.slug}/edit").get_data(as_text=True)
    assert 'value="2030-07-01T20:00"' in edit


def test_bad_input_shows_field_errors_and_saves_nothing(client, organizer, game):
    login(client, organizer)
    response = client.post("/manage/tournaments/new", data=form_data(
        game, capacity=1, prize_distribution="60, 30", prize_pool=100, starts_at="yesterday"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please correct the highlighted fields" in page
    assert "Not a valid datetime value." in page or "Set the start time." in page
    assert db.session.scalar(select(func.count(Tournament.id))) == 0


def test_prize_percentages_must_sum_to_100(client, organizer, game):
    login(client, organizer)
    response = client.post("/manage/tournaments/new", data=form_data(
        game, prize_pool=100, prize_distribution="60, 30"))
    assert "Percentages must add up to 100 (they add up to 90)." in response.get_data(as_text=True)


def test_checkin_after_start_is_refused(client, organizer, game):
    login(client, organizer)
    response = client.post("/manage/tournaments/new", data=form_data(
        game, starts_at="2030-01-01T18:00", checkin_closes_at="2030-01-01T19:00"))
    assert "Check-in must close at or before the start." in response.get_data(as_text=True)


def test_edit_saves_changes(client, organizer, tournament):
    login(client, organizer)
    data = form_data(tournament.game, name="Spring Cup Deluxe", slug="spring-cup",
                     starts_at=tournament.starts_at.strftime("%Y-%m-%dT%H:%M"))
    response = client.post("/manage/t/spring-cup/edit", data=data)
    assert response.status_code == 302
    db.session.refresh(tournament)
    assert tournament.name == "Spring Cup Deluxe"


def test_status_buttons_move_the_tournament(client, organizer, make_tournament):
    t = make_tournament(status=Status.DRAFT)
    login(client, organizer)
    response = client.post(f"/manage/t/{t.slug}/status",
                           data={"target": "REGISTRATION", "expected": "DRAFT"})
    assert response.status_code == 302
    db.session.refresh(t)
    assert t.status == Status.REGISTRATION


def test_stale_status_form_gets_a_clear_conflict(client, organizer, make_tournament):
    t = make_tournament(status=Status.REGISTRATION)
    login(client, organizer)
    response = client.post(f"/manage/t/{t.slug}/status",
                           data={"target": "REGISTRATION", "expected": "DRAFT"})
    assert response.status_code == 409
    assert "out of date" in response.get_data(as_text=True)


def test_unknown_status_is_a_clear_400(client, organizer, tournament):
    login(client, organizer)
    response = client.post("/manage/t/spring-cup/status",
                           data={"target": "BOGUS", "expected": "REGISTRATION"})
    assert response.status_code == 400
    assert "Unknown status" in response.get_data(as_text=True)


def test_organizer_of_another_tournament_cannot_edit(client, other_organizer, tournament):
    login(client, other_organizer)
    assert client.get("/manage/t/spring-cup/edit").status_code == 403
    response = client.post("/manage/t/spring-cup/status",
                           data={"target": "CANCELLED", "expected": "REGISTRATION"})
    assert response.status_code == 403
    db.session.refresh(tournament)
    assert tournament.status == Status.REGISTRATION


def test_front_page_lists_public_tournaments_by_tab(client, make_tournament):
    make_tournament("open-one", name="Open One")
    make_tournament("live-one", name="Live One", status=Status.LIVE)
    make_tournament("private-one", name="Private One", visibility=Visibility.PRIVATE)
    upcoming = client.get("/").get_data(as_text=True)
    assert "Open One" in upcoming and "Live One" not in upcoming
    assert "Private One" not in upcoming
    assert "Live One" in client.get("/?tab=live").get_data(as_text=True)


def test_front_page_search_and_filter(client, make_tournament, game):
    make_tournament("open-one", name="Open One")
    make_tournament("other", name="Other Thing")
    page = client.get("/?q=open").get_data(as_text=True)
    assert "Open One" in page and "Other Thing" not in page
    assert "No upcoming tournaments" in client.get(f"/?game={game.id + 99}").get_data(as_text=True)
    assert client.get("/?page=-3&game=abc").status_code == 200


def test_tournament_page_shows_rules_and_schedule(client, make_tournament):
    make_tournament("open-one", name="Open One", best_of_by_round={"3": 5})
    page = client.get("/t/open-one").get_data(as_text=True)
    assert "Open One" in page and "round 3: best of 5" in page and "Check-in" in page


def test_private_tournament_is_hidden_from_outsiders(client, player, organizer, make_tournament):
    make_tournament("secret", visibility=Visibility.PRIVATE)
    assert client.get("/t/secret").status_code == 404
    login(client, player)
    assert client.get("/t/secret").status_code == 404
    login(client, organizer)
    assert client.get("/t/secret").status_code == 200


def test_drafts_are_visible_to_staff_only(client, player, organizer, make_tournament):
    make_tournament("draft", status=Status.DRAFT)
    login(client, player)
    assert client.get("/t/draft").status_code == 404
    login(client, organizer)
    assert client.get("/t/draft").status_code == 200


def test_unlisted_is_reachable_by_link(client, make_tournament):
    make_tournament("quiet", name="Quiet Cup", visibility=Visibility.UNLISTED)
    assert client.get("/t/quiet").status_code == 200
    assert "Quiet Cup" not in client.get("/").get_data(as_text=True)


def test_an_edit_from_a_form_opened_before_someone_else_saved_is_refused(client, organizer,
                                                                        tournament):
    login(client, organizer)
    page = client.get("/manage/t/spring-cup/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="([^"]+)"', page)[1]
    start = tournament.starts_at.strftime("%Y-%m-%dT%H:%M")
    first = form_data(tournament.game, name="First Edit", slug="spring-cup", starts_at=start,
                      version=version)
    assert client.post("/manage/t/spring-cup/edit", data=first).status_code == 302
    second = dict(first, name="Second Edit")
    response = client.post("/manage/t/spring-cup/edit", data=second)
    assert response.status_code == 400
    assert "Someone else saved changes" in response.get_data(as_text=True)
    db.session.refresh(tournament)
    assert tournament.name == "First Edit"
