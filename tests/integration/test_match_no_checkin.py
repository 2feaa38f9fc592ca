"""A tournament without per-match check-in: matches are played as soon as they are ready."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, MatchState, Status, utcnow
from app.services import match_control as control
from app.services import match_schedule, results, schedule, tournaments
from app.services.errors import IllegalTransition
from tests.integration.test_matches import row, side_user, start_bracket
from tests.integration.test_registrations import do


@pytest.fixture
def open_cup(make_tournament):
    return make_tournament("open-cup", status=Status.LIVE, capacity=16, match_checkin=False)


def report_and_confirm(match, winner=0):
    games = ([(1, 0)] if winner == 0 else [(0, 1)]) * (match.best_of // 2 + 1)
    do(lambda: results.report(side_user(match, winner), match, games, match.version))
    do(lambda: results.confirm(side_user(match, 1 - winner), match, match.version))


def test_players_report_at_once_and_the_next_match_is_ready(open_cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, open_cup, 4, make_field)
    first, second = row(bracket, 0), row(bracket, 1)
    with pytest.raises(IllegalTransition, match="does not use match check-in"):
        do(lambda: control.check_in(side_user(first, 0), first, first.version))
    report_and_confirm(first)
    report_and_confirm(second, winner=1)
    assert first.state == MatchState.COMPLETED and first.checked_in_a_at is None
    final = row(bracket, first.winner_to)
    assert final.state == MatchState.READY  # no check-in: playable the moment it is known
    report_and_confirm(final)
    db.session.refresh(open_cup)
    assert open_cup.status == Status.COMPLETED


def test_a_scheduled_match_is_played_from_its_time_on(open_cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, open_cup, 4, make_field)
    match = row(bracket, 0)
    later = utcnow() + timedelta(hours=2)
    do(lambda: match_schedule.schedule(organizer, match, later, match.version))
    assert match.state == MatchState.SCHEDULED
    with pytest.raises(IllegalTransition):  # not its time yet
        do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version))
    # The sweeper opens the unscheduled match now, this one at its time (not before).
    assert do(lambda: schedule.sweep(utcnow())) == 1
    assert row(bracket, 1).state == MatchState.READY and match.state == MatchState.SCHEDULED
    assert do(lambda: schedule.sweep(later - timedelta(minutes=10))) == 0
    assert do(lambda: schedule.sweep(later)) == 1
    db.session.refresh(match)
    assert match.state == MatchState.READY
    # Nobody checks in, so the clock tells no no-show: staff forfeit by hand if needed.
    assert match_schedule.no_shows(match, later + timedelta(minutes=30)) is None


def test_a_report_at_the_time_does_not_wait_for_the_sweeper(open_cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, open_cup, 4, make_field)
    match = row(bracket, 0)
    do(lambda: match_schedule.schedule(organizer, match, utcnow() - timedelta(minutes=1),
                                       match.version))
    assert match.state == MatchState.READY  # scheduled in the past: its time has come
    other = row(bracket, 1)
    assert other.state == MatchState.SCHEDULED  # not swept yet, no time: playable now
    report_and_confirm(other)
    assert other.state == MatchState.COMPLETED


def test_turning_check_in_off_while_live_frees_the_waiting_matches(make_tournament, game,
                                                                     make_field, organizer):
    game.team_size = 1  # a solo event of a solo game, so the edit form's data is valid
    cup = make_tournament("switch-cup", status=Status.LIVE, capacity=16)
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    do(lambda: schedule.sweep(utcnow()))
    match = row(bracket, 0)
    do(lambda: control.check_in(side_user(match, 0), match, match.version))
    assert match.state == MatchState.CHECK_IN
    data = tournaments.TournamentInput(**{
        name: getattr(cup, name) for name in tournaments.TournamentInput.__dataclass_fields__})
    data.match_checkin = False
    changes = do(lambda: tournaments.update(organizer, cup, data))
    assert "match_checkin" in changes
    db.session.refresh(match)
    assert match.state == MatchState.READY and row(bracket, 1).state == MatchState.READY
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "tournament.updated"))
    assert "match_checkin" in audit.meta["changed"]
    report_and_confirm(match)
    assert match.state == MatchState.COMPLETED
