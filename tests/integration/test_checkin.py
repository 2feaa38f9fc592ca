"""Check-in service: the window, who may check in, undo, staff overrides and no-show removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditLog,
    OutboxEvent,
    Registration,
    RegistrationStatus,
    Status,
    Tournament,
    User,
    utcnow,
)
from app.services import checkin, entrants, registrations, schedule
from app.services.errors import Conflict, Invalid, NotAllowed
from tests.concurrency import concurrently
from tests.integration.test_registrations import (
    actions,
    count,
    do,
    enter,
    in_thread,
    make_team,
    statuses,
)

S = RegistrationStatus


@pytest.fixture
def players(make_user) -> list[User]:
    return [make_user(f"p{i}", display_name=f"Player {i}") for i in range(1, 6)]


def in_checkin(make_tournament, game, slug="night-cup", **fields) -> Tournament:
    """A tournament starting in 10 minutes whose check-in opened 20 minutes ago."""
    start = utcnow() + timedelta(minutes=10)
    values = dict(game_id=game.id, starts_at=start, status=Status.CHECK_IN,
                  registration_closes_at=start - timedelta(minutes=30),
                  checkin_opens_at=start - timedelta(minutes=30), checkin_closes_at=start)
    values.update(fields)
    return make_tournament(slug, **values)


def after_checkin(make_tournament, game, slug="done-cup", **fields) -> Tournament:
    """A tournament whose check-in closed a minute ago (it started then)."""
    start = utcnow() - timedelta(minutes=1)
    return in_checkin(make_tournament, game, slug, starts_at=start, checkin_closes_at=start,
                      checkin_opens_at=start - timedelta(minutes=30),
                      registration_closes_at=start - timedelta(minutes=30), **fields)


@pytest.fixture
def cup(make_tournament, duel) -> Tournament:
    return in_checkin(make_tournament, duel)


def checked_in(registration: Registration) -> bool:
    db.session.rollback()
    return db.session.get(Registration, registration.id).checked_in_at is not None


# --- players ---------------------------------------------------------------------------


def test_a_confirmed_player_checks_in_while_check_in_is_open(cup, players):
    registration = enter(cup, players[0])
    assert do(lambda: checkin.check_in(players[0], registration)) is True
    assert checked_in(registration)
    assert registration.checked_in_by_id == players[0].id
    assert actions() == ["registration.checked_in"]
    assert db.session.scalar(select(OutboxEvent.type)) == "registrations_changed"
    assert entrants.counts(cup)["checked_in"] == 1


def test_checking_in_twice_is_a_no_op(cup, players):
    registration = enter(cup, players[0])
    do(lambda: checkin.check_in(players[0], registration))
    assert do(lambda: checkin.check_in(players[0], registration)) is False
    assert actions() == ["registration.checked_in"]


@pytest.mark.parametrize(("opens", "closes", "status", "message"), [
    (10, 40, Status.REGISTRATION, "Check-in is not open yet: it opens on"),
    (-40, -1, Status.CHECK_IN, "Check-in is closed \\(it closed on"),
    (-40, 10, Status.LIVE, "Check-in is closed"),
], ids=["not-yet", "closed", "tournament-live"])
def test_checking_in_outside_the_window_is_refused(make_tournament, duel, players, opens,
                                                   closes, status, message):
    now = utcnow()
    cup = make_tournament("window-cup", game_id=duel.id, status=status,
                          starts_at=now + timedelta(minutes=max(closes, 0) + 1),
                          checkin_opens_at=now + timedelta(minutes=opens),
                          checkin_closes_at=now + timedelta(minutes=closes))
    registration = enter(cup, players[0])
    with pytest.raises(Invalid, match=message):
        do(lambda: checkin.check_in(players[0], registration))
    assert not checked_in(registration) and actions() == []


def test_the_window_opens_on_time_even_before_the_sweeper_moves_the_status(make_tournament,
                                                                          duel, players):
    cup = in_checkin(make_tournament, duel, status=Status.REGISTRATION)
    registration = enter(cup, players[0])
    assert do(lambda: checkin.check_in(players[0], registration)) is True


def test_an_organizer_who_opens_check_in_early_lets_players_in(make_tournament, duel, players):
    start = utcnow() + timedelta(hours=3)
    cup = in_checkin(make_tournament, duel, starts_at=start, checkin_closes_at=start,
                     checkin_opens_at=start - timedelta(minutes=30))  # status CHECK_IN already
    registration = enter(cup, players[0])
    assert do(lambda: checkin.check_in(players[0], registration)) is True


@pytest.mark.parametrize(("status", "message"), [
    (S.PENDING_PAYMENT, "The entry fee is not paid yet: only paid registrations can check in."),
    (S.WAITLISTED, "Player 1 is on the waitlist \\(position 1\\); only registrations with a "
                   "slot can check in."),
    (S.WITHDRAWN, "Player 1 withdrew from the tournament."),
], ids=["unpaid", "waitlisted", "withdrawn"])
def test_only_confirmed_registrations_check_in(cup, players, status, message):
    registration = enter(cup, players[0], status)
    with pytest.raises(Invalid, match=message):
        do(lambda: checkin.check_in(players[0], registration))
    assert not checked_in(registration)


def test_only_the_player_or_the_captain_checks_in(cup, make_tournament, game, players):
    registration = enter(cup, players[0])
    with pytest.raises(NotAllowed, match="This is Player 1’s registration"):
        checkin.check_in(players[1], registration)
    db.session.rollback()
    teams_cup = in_checkin(make_tournament, game, "teams-cup", team_based=True)
    team = make_team("Red Foxes", players[1], players[2], players[3])
    entry = enter(teams_cup, players[1], team=team, roster=players[1:4])
    with pytest.raises(NotAllowed, match="Only the captain of Red Foxes"):
        checkin.check_in(players[2], entry)
    db.session.rollback()
    assert do(lambda: checkin.check_in(players[1], entry)) is True


def test_a_player_undoes_a_check_in_within_15_minutes(cup, players):
    registration = enter(cup, players[0])
    do(lambda: checkin.check_in(players[0], registration))
    assert do(lambda: checkin.undo(players[0], registration)) is True
    assert not checked_in(registration)
    assert do(lambda: checkin.undo(players[0], registration)) is False
    assert actions() == ["registration.checked_in", "registration.checked_out"]


def test_undo_after_15_minutes_is_refused(cup, players):
    registration = enter(cup, players[0], checked_in_at=utcnow() - timedelta(minutes=16),
                         checked_in_by_id=players[0].id)
    with pytest.raises(Conflict, match="more than 15 minutes ago; ask the staff"):
        do(lambda: checkin.undo(players[0], registration))
    assert checked_in(registration)


def test_undo_after_check_in_closed_is_refused(make_tournament, duel, players):
    cup = after_checkin(make_tournament, duel)
    registration = enter(cup, players[0], checked_in_at=utcnow() - timedelta(minutes=2))
    with pytest.raises(Invalid, match="Check-in is closed"):
        do(lambda: checkin.undo(players[0], registration))
    assert checked_in(registration)


# --- staff -----------------------------------------------------------------------------


def test_staff_check_anyone_in_and_out_at_any_time(make_tournament, duel, players, organizer):
    cup = make_tournament("early-cup", game_id=duel.id)  # check-in opens in days
    registration = enter(cup, players[0])
    assert do(lambda: checkin.staff_check_in(organizer, registration)) is True
    assert checked_in(registration) and registration.checked_in_by_id == organizer.id
    assert do(lambda: checkin.staff_check_in(organizer, registration)) is False
    assert do(lambda: checkin.staff_check_out(organizer, registration)) is True
    assert do(lambda: checkin.staff_check_out(organizer, registration)) is False
    assert actions() == ["registration.checked_in", "registration.checked_out"]
    row = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
    assert row.meta["by_staff"] is True and row.actor_id == organizer.id


def test_staff_cannot_check_in_an_unpaid_registration(cup, players, organizer):
    registration = enter(cup, players[0], S.PENDING_PAYMENT)
    with pytest.raises(Invalid, match="The entry fee is not paid yet"):
        checkin.staff_check_in(organizer, registration)


def test_only_staff_of_this_tournament_check_others_in(cup, players, other_organizer):
    registration = enter(cup, players[0])
    with pytest.raises(NotAllowed, match="Only the staff of Night Cup"):
        checkin.staff_check_in(other_organizer, registration)
    with pytest.raises(NotAllowed):
        checkin.staff_check_out(players[0], registration)


# --- no-shows --------------------------------------------------------------------------


def test_no_shows_are_removed_once_check_in_has_closed(make_tournament, duel, players,
                                                       organizer):
    cup = after_checkin(make_tournament, duel, capacity=3)
    enter(cup, players[0], checked_in_at=utcnow() - timedelta(minutes=5))
    enter(cup, players[1])
    enter(cup, players[2], S.PENDING_PAYMENT)
    enter(cup, players[3], S.WAITLISTED)
    assert do(lambda: checkin.remove_no_shows(organizer, cup)) == 2
    assert statuses(cup) == [("p1", S.CONFIRMED), ("p2", S.REMOVED), ("p3", S.REMOVED),
                             ("p4", S.WAITLISTED)]
    removed = db.session.scalars(select(AuditLog).where(
        AuditLog.action == "registration.removed")).all()
    assert [r.meta["reason"] for r in removed] == ["no-show", "no-show"]
    assert count(OutboxEvent) == 1
    assert do(lambda: checkin.remove_no_shows(organizer, cup)) == 0


def test_no_shows_wait_until_check_in_closes(cup, players, organizer):
    enter(cup, players[0])
    with pytest.raises(Conflict, match="Check-in is still open"):
        do(lambda: checkin.remove_no_shows(organizer, cup))
    assert statuses(cup) == [("p1", S.CONFIRMED)]


def test_only_staff_remove_no_shows(make_tournament, duel, players):
    cup = after_checkin(make_tournament, duel)
    enter(cup, players[1])
    with pytest.raises(NotAllowed):
        checkin.remove_no_shows(players[0], cup)


def test_the_schedule_removes_no_shows_once_where_the_organizer_asked(make_tournament, duel,
                                                                      players, organizer):
    auto = after_checkin(make_tournament, duel, "auto-cup", auto_remove_no_shows=True)
    manual = after_checkin(make_tournament, duel, "manual-cup")
    no_show = enter(auto, players[0])
    enter(manual, players[1])
    assert schedule.sweep(utcnow()) == 1
    db.session.commit()
    assert statuses(auto) == [("p1", S.REMOVED)] and statuses(manual) == [("p2", S.CONFIRMED)]
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.removed"))
    assert row.actor_id is None and row.meta["by"] == "schedule"
    # A no-show the staff let back in is not removed again by a later sweep.
    do(lambda: registrations.reinstate(organizer, no_show))
    assert schedule.sweep(utcnow()) == 0
    db.session.commit()
    assert statuses(auto) == [("p1", S.CONFIRMED)]


def test_the_schedule_leaves_tournaments_still_in_check_in_alone(make_tournament, duel, players):
    cup = in_checkin(make_tournament, duel, auto_remove_no_shows=True)
    enter(cup, players[0])
    assert schedule.sweep(utcnow()) == 0
    assert statuses(cup) == [("p1", S.CONFIRMED)]


# --- races -----------------------------------------------------------------------------


def test_concurrent_check_ins_check_in_once(app, cup, players):
    registration = enter(cup, players[0])
    reg_id, player_id = registration.id, players[0].id
    outcomes = concurrently(app, *[
        lambda: checkin.check_in(in_thread(User, player_id), in_thread(Registration, reg_id))
    ] * 3)
    assert sorted(outcomes) == [False, False, True]
    assert actions() == ["registration.checked_in"]


def test_a_check_in_racing_the_no_show_removal_has_one_outcome(app, make_tournament, duel,
                                                               players, organizer):
    cup = after_checkin(make_tournament, duel)
    registration = enter(cup, players[0])
    reg_id, staff_id, cup_id = registration.id, organizer.id, cup.id
    outcomes = concurrently(
        app,
        lambda: checkin.staff_check_in(in_thread(User, staff_id), in_thread(Registration, reg_id)),
        lambda: checkin.remove_no_shows(in_thread(User, staff_id), in_thread(Tournament, cup_id)))
    status = statuses(cup)[0][1]
    # Either checked in first (then it is no no-show), or removed first (then not checked in).
    if outcomes[1] == 0:
        assert outcomes[0] is True and status == S.CONFIRMED and checked_in(registration)
    else:
        assert outcomes[1] == 1 and isinstance(outcomes[0], Invalid) and status == S.REMOVED
