"""The tournaments service: validation, creation, edits and status changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    Format,
    Game,
    OutboxEvent,
    PrizeMode,
    StaffRole,
    Status,
    Tournament,
    utcnow,
)
from app.services import schedule, tournaments
from app.services.errors import Conflict, IllegalTransition, Invalid
from app.services.tournaments import TournamentInput


@pytest.fixture
def solo_game(app):
    g = Game(name="Tekken 8", team_size=1)
    db.session.add(g)
    db.session.commit()
    return g


def make_input(game, **overrides) -> TournamentInput:
    values = dict(name="Winter Clash", game_id=game.id, format=Format.DOUBLE_ELIMINATION,
                  starts_at=utcnow() + timedelta(days=3), capacity=32)
    values.update(overrides)
    return TournamentInput(**values)


def field_errors(data, existing=None) -> dict:
    tournaments._fill_defaults(data)
    return tournaments.validate(data, existing)


def test_create_makes_a_draft_with_the_creator_as_organizer(organizer, solo_game):
    t = tournaments.create(organizer, make_input(solo_game))
    db.session.commit()
    assert t.status == Status.DRAFT
    assert t.slug == "winter-clash"
    assert [(s.user_id, s.role) for s in t.staff] == [(organizer.id, StaffRole.ORGANIZER)]
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.tournament_id == t.id)) \
        == "tournament.created"


def test_default_windows_follow_the_start(organizer, solo_game):
    t = tournaments.create(organizer, make_input(solo_game))
    assert t.checkin_closes_at == t.starts_at
    assert t.checkin_opens_at == t.starts_at - timedelta(minutes=30)
    assert t.registration_closes_at == t.checkin_opens_at


def test_slugs_stay_unique(organizer, solo_game):
    first = tournaments.create(organizer, make_input(solo_game))
    second = tournaments.create(organizer, make_input(solo_game))
    assert (first.slug, second.slug) == ("winter-clash", "winter-clash-2")


def test_same_form_key_creates_only_once(organizer, solo_game):
    first = tournaments.create(organizer, make_input(solo_game), "key-1")
    db.session.commit()
    again = tournaments.create(organizer, make_input(solo_game), "key-1")
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count(Tournament.id))) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": "ab"}, "name"),
    ({"capacity": 1}, "capacity"),
    ({"capacity": 5000}, "capacity"),
    ({"slug": "Not A Slug"}, "slug"),
    ({"slug": "admin"}, "slug"),
    ({"game_id": None}, "game"),
    ({"team_based": True}, "team_based"),
    ({"starts_at": None}, "starts_at"),
    ({"best_of": 2}, "best_of"),
    ({"best_of_finals": 11}, "best_of_finals"),
    ({"auto_confirm_hours": 0}, "auto_confirm_hours"),
    ({"entry_fee": -5}, "entry_fee"),
    ({"prize_distribution": [50, 30]}, "prize_distribution"),
    ({"prize_pool": 100, "prize_distribution": []}, "prize_distribution"),
    ({"prize_pool": 100, "prize_mode": PrizeMode.FIXED, "prize_distribution": [80, 40]},
     "prize_distribution"),
    ({"prize_distribution": [100, 0]}, "prize_distribution"),
])
def test_bad_input_is_refused_field_by_field(solo_game, overrides, field):
    assert field in field_errors(make_input(solo_game, **overrides))


def test_checkin_must_close_at_or_before_start(solo_game):
    start = utcnow() + timedelta(days=2)
    errors = field_errors(make_input(solo_game, starts_at=start,
                                     checkin_closes_at=start + timedelta(minutes=1)))
    assert errors["checkin_closes_at"] == "Check-in must close at or before the start."


def test_start_in_the_past_is_refused_for_new_tournaments(solo_game):
    errors = field_errors(make_input(solo_game, starts_at=utcnow() - timedelta(hours=1)))
    assert "starts_at" in errors


def test_team_game_needs_a_team_tournament(game):
    assert "teams of 3" in field_errors(make_input(game, team_based=False))["team_based"]


def test_invalid_create_writes_nothing(organizer, solo_game):
    with pytest.raises(Invalid):
        tournaments.create(organizer, make_input(solo_game, capacity=1))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Tournament.id))) == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("", {}), ("3:5", {"3": 5}), ("2:3, 4 = 5", {"2": 3, "4": 5})])
def test_per_round_best_of_parses(text, expected):
    assert tournaments.parse_best_of_by_round(text) == expected


@pytest.mark.parametrize("text", ["3:4", "x:3", "0:3", "3"])
def test_per_round_best_of_refuses_nonsense(text):
    with pytest.raises(Invalid):
        tournaments.parse_best_of_by_round(text)


def test_distribution_parses_and_refuses_nonsense():
    assert tournaments.parse_distribution("50, 30%, 20") == [50, 30, 20]
    with pytest.raises(Invalid):
        tournaments.parse_distribution("fifty, thirty")


def test_update_records_an_event_and_an_audit_row(organizer, tournament):
    data = make_input(tournament.game, name="Renamed Cup", team_based=True,
                      starts_at=tournament.starts_at, capacity=16,
                      format=Format.SINGLE_ELIMINATION)
    changes = tournaments.update(organizer, tournament, data)
    db.session.commit()
    assert "name" in changes
    assert db.session.scalar(select(OutboxEvent.type)) == "tournament_updated"


def test_bracket_fields_freeze_once_live(organizer, make_tournament, game):
    t = make_tournament("live-cup", status=Status.LIVE, team_based=True)
    data = make_input(game, name=t.name, team_based=True, starts_at=t.starts_at, capacity=64,
                      format=Format.SINGLE_ELIMINATION)
    with pytest.raises(Invalid) as error:
        tournaments.update(organizer, t, data)
    assert error.value.fields["capacity"] == "Cannot change once the tournament is live."


def test_completed_tournaments_cannot_be_edited(organizer, make_tournament, game):
    t = make_tournament("old-cup", status=Status.COMPLETED, team_based=True)
    with pytest.raises(Conflict):
        tournaments.update(organizer, t, make_input(game, team_based=True))


def test_status_moves_one_step_at_a_time(organizer, make_tournament):
    t = make_tournament(status=Status.DRAFT)
    tournaments.transition(organizer, t, Status.REGISTRATION, Status.DRAFT)
    db.session.commit()
    assert t.status == Status.REGISTRATION
    with pytest.raises(IllegalTransition):
        tournaments.transition(organizer, t, Status.COMPLETED, Status.REGISTRATION)


def test_transition_from_a_stale_page_is_a_conflict(organizer, make_tournament):
    t = make_tournament(status=Status.REGISTRATION)
    with pytest.raises(Conflict):
        tournaments.transition(organizer, t, Status.REGISTRATION, Status.DRAFT)


def test_cancelled_is_final(organizer, make_tournament):
    t = make_tournament(status=Status.CANCELLED)
    with pytest.raises(IllegalTransition):
        tournaments.transition(organizer, t, Status.REGISTRATION, Status.CANCELLED)


def test_schedule_opens_checkin_when_due(make_tournament):
    due = make_tournament("due", checkin_opens_at=utcnow() - timedelta(minutes=1))
    later = make_tournament("later")
    draft = make_tournament("draft", status=Status.DRAFT,
                            checkin_opens_at=utcnow() - timedelta(minutes=1))
    assert schedule.sweep(utcnow()) == 1
    db.session.commit()
    statuses = {t.slug: t.status for t in db.session.scalars(select(Tournament))}
    assert statuses == {"due": Status.CHECK_IN, "later": Status.REGISTRATION,
                        "draft": Status.DRAFT}
    assert schedule.sweep(utcnow()) == 0
    assert due and later and draft


def test_public_listing_filters_and_searches(make_tournament, organizer):
    make_tournament("alpha-open", name="Alpha Open")
    make_tournament("beta-cup", name="Beta 100% Cup")
    make_tournament("secret", visibility="private")
    make_tournament("hidden", visibility="unlisted")
    make_tournament("done", status=Status.COMPLETED)
    rows, more = tournaments.public_listing("upcoming")
    assert {t.slug for t in rows} == {"alpha-open", "beta-cup"} and not more
    assert [t.slug for t in tournaments.public_listing("upcoming", search="100%")[0]] \
        == ["beta-cup"]
    assert [t.slug for t in tournaments.public_listing("completed")[0]] == ["done"]
