"""Concurrent requests on one match: each race ends in one outcome, one advancement, one
audit row, and the loser gets a Conflict (409), never an error."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.database import write_intent
from app.extensions import db
from app.models import (
    AuditLog,
    Match,
    MatchEvent,
    MatchState,
    ResultSubmission,
    Status,
    Tournament,
    User,
    utcnow,
)
from app.services import matches, registrations, results
from app.services.errors import Conflict
from tests.concurrency import concurrently
from tests.integration.test_matches import (
    check_in_both,
    play,
    row,
    side_user,
    start_bracket,
)
from tests.integration.test_registrations import do


def action(name, user_id, match_id, *args, **kwargs):
    """A service call as a request makes it: everything loaded by id in its own session."""
    def run():
        match = db.session.get(Match, match_id)
        actor = db.session.get(User, user_id) if user_id else None
        return getattr(results, name)(actor, match, *args, **kwargs)
    return run


def audits(match, *actions) -> int:
    """Audit rows of these actions on `match`."""
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.object_type == "match", AuditLog.object_id == match.id,
        AuditLog.action.in_([f"match.{a}" for a in actions])))


@pytest.fixture
def cup(make_tournament):
    return make_tournament("race-cup", status=Status.LIVE, capacity=16)


@pytest.fixture
def reported(cup, make_field, organizer):
    """A 4-entrant bracket: semi-final 2 played, semi-final 1 reported by its slot a."""
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    play(row(bracket, 1), winner=0)
    semi = row(bracket, 0)
    check_in_both(semi)
    do(lambda: results.report(side_user(semi, 0), semi, [(1, 0)], semi.version))
    return bracket, semi


def advanced_once(bracket, semi) -> None:
    """The final holds both semi-final winners exactly once and opened check-in once."""
    db.session.refresh(semi)
    final = row(bracket, semi.winner_to)
    assert semi.winner_seed in (final.seed_a, final.seed_b)
    assert final.state == MatchState.CHECK_IN
    assert db.session.scalar(select(func.count()).select_from(MatchEvent).where(
        MatchEvent.match_id == final.id, MatchEvent.kind == "entrants_known")) == 1


def one_winner(outcomes) -> None:
    assert None not in outcomes, "a call failed with an unexpected error"
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1


def test_two_confirmations_at_once_confirm_once(app, reported):
    bracket, semi = reported
    confirm = action("confirm", side_user(semi, 1).id, semi.id, semi.version)
    outcomes = concurrently(app, confirm, confirm)
    one_winner(outcomes)
    assert isinstance([o for o in outcomes if isinstance(o, Conflict)][0], matches.MatchChanged)
    assert audits(semi, "confirmed") == 1
    advanced_once(bracket, semi)


def test_confirm_against_reject_ends_in_one_of_them(app, reported):
    bracket, semi = reported
    opponent = side_user(semi, 1).id
    outcomes = concurrently(app, action("confirm", opponent, semi.id, semi.version),
                            action("reject", opponent, semi.id, "no", semi.version))
    one_winner(outcomes)
    assert audits(semi, "confirmed", "rejected") == 1
    db.session.refresh(semi)
    if audits(semi, "confirmed"):
        assert semi.state == MatchState.COMPLETED
        advanced_once(bracket, semi)
    else:
        assert semi.state == MatchState.DISPUTED


def test_confirm_against_the_auto_confirm_job_confirms_once(app, reported):
    from app.jobs.results import auto_confirm_job

    bracket, semi = reported
    db.session.execute(update(ResultSubmission).values(
        confirm_deadline=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    submission_id = db.session.scalar(select(ResultSubmission.id))
    outcomes = concurrently(app, action("confirm", side_user(semi, 1).id, semi.id,
                                        semi.version),
                            lambda: auto_confirm_job(submission_id))
    confirmed, job = outcomes
    assert isinstance(confirmed, Conflict) != (job is False)  # exactly one of them acted
    assert audits(semi, "confirmed", "auto_confirmed") == 1
    advanced_once(bracket, semi)


def test_a_staff_override_against_a_player_confirmation_applies_one(app, reported, organizer):
    bracket, semi = reported
    outcomes = concurrently(
        app, action("confirm", side_user(semi, 1).id, semi.id, semi.version),
        action("enter_result", organizer.id, semi.id, semi.version, score=(0, 1),
               reason="override"))
    one_winner(outcomes)
    assert audits(semi, "confirmed", "result_entered") == 1
    advanced_once(bracket, semi)


def test_a_double_submitted_report_reports_once(app, cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    report = action("report", side_user(match, 0).id, match.id, [(1, 0)], match.version)
    outcomes = concurrently(app, report, report)
    one_winner(outcomes)
    assert db.session.scalar(select(func.count()).select_from(ResultSubmission)) == 1
    assert audits(match, "reported") == 1
    db.session.refresh(match)
    assert match.state == MatchState.PENDING_RESULT


def test_a_first_report_is_not_held_up_by_a_result_being_applied_elsewhere(
        app, cup, make_field, organizer):
    """A result of one match holds the tournament's lock while the bracket moves on; the two
    sides of another match report meanwhile (PostgreSQL: their rows only refer to the
    tournament; SQLite has one writer at a time, so the report waits its turn)."""
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    reporting = action("report", side_user(match, 0).id, match.id, [(1, 0)], match.version)
    tournament_id = cup.id
    db.session.rollback()  # the test's own transaction (SQLite: the write lock) ends here
    locked, release = threading.Event(), threading.Event()

    def result_elsewhere():
        with app.app_context(), write_intent():
            registrations.lock(db.session.get(Tournament, tournament_id))
            locked.set()
            release.wait(10)
            db.session.commit()

    holder = threading.Thread(target=result_elsewhere)
    holder.start()
    assert locked.wait(10)
    reported = {"while_locked": None}

    def report():
        with app.app_context(), write_intent():
            reporting()
            db.session.commit()
            reported["while_locked"] = not release.is_set()

    reporter = threading.Thread(target=report)
    reporter.start()
    postgres = db.engine.dialect.name == "postgresql"
    reporter.join(3 if postgres else 0.5)  # SQLite: long enough to show it waits
    release.set()
    holder.join(10)
    reporter.join(10)
    assert reported["while_locked"] is postgres
    db.session.rollback()
    db.session.refresh(match)
    assert match.state == MatchState.PENDING_RESULT
    assert audits(match, "reported") == 1
