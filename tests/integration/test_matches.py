"""Playing matches through the service: reports, confirmations, disputes, staff actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jobs.results import auto_confirm_job
from app.models import (
    AuditLog,
    Format,
    GrandFinal,
    Match,
    MatchEvent,
    MatchState,
    Notification,
    OutboxEvent,
    ResultSubmission,
    Status,
    SubmissionStatus,
    utcnow,
)
from app.services import brackets, match_schedule, matches, results, schedule, stages
from app.services import match_control as control
from app.services import match_progression as progression
from app.services.errors import Conflict, IllegalTransition, Invalid, NotAllowed
from tests.conftest import save
from tests.integration.test_bracket_generation import generate
from tests.integration.test_registrations import do


@pytest.fixture
def cup(make_tournament):
    return make_tournament("match-cup", status=Status.LIVE, capacity=64)


def start_bracket(organizer, tournament, n, make_field, **options):
    field = make_field(tournament, n)
    bracket = generate(organizer, tournament, **options)
    do(lambda: brackets.finalize(organizer, tournament, bracket.version))
    return bracket, field


def row(bracket, number) -> Match:
    return db.session.scalar(select(Match).where(Match.bracket_id == bracket.id,
                                                 Match.number == number))


def side_user(match, side):
    return matches.registrations_of(match)[side].user


def check_in_both(match):
    for side in (0, 1):
        do(lambda s=side: control.check_in(side_user(match, s), match, match.version))


def play(match, winner=0, games=None):
    """Both sides check in, the winner reports, the loser confirms."""
    if match.state != MatchState.READY:
        check_in_both(match)
    games = games or ([(1, 0)] if winner == 0 else [(0, 1)]) * (match.best_of // 2 + 1)
    do(lambda: results.report(side_user(match, winner), match, games, match.version))
    do(lambda: results.confirm(side_user(match, 1 - winner), match, match.version))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def playable(bracket):
    return list(db.session.scalars(select(Match).where(
        Match.bracket_id == bracket.id,
        Match.state.in_([MatchState.CHECK_IN, MatchState.SCHEDULED, MatchState.READY]))
        .order_by(Match.number)))


def test_a_confirmed_report_completes_the_match_and_the_winner_advances(cup, make_field,
                                                                        organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first = row(bracket, 0)
    assert first.state == MatchState.SCHEDULED
    check_in_both(first)
    assert first.state == MatchState.READY
    submission = do(lambda: results.report(side_user(first, 0), first, [(3, 1)], first.version))
    assert first.state == MatchState.PENDING_RESULT
    assert submission.confirm_deadline is not None
    opponent = side_user(first, 1)
    assert count(Notification, Notification.user_id == opponent.id) == 1
    do(lambda: results.confirm(opponent, first, first.version))
    assert (first.state, first.score_a, first.score_b) == (MatchState.COMPLETED, 1, 0)
    final = row(bracket, first.winner_to)
    assert first.seed_a in (final.seed_a, final.seed_b)
    assert final.state == MatchState.PENDING  # the other semi-final is not played yet
    kinds = [e.kind for e in matches.timeline(first)]
    assert kinds == ["checked_in", "checked_in", "started", "reported", "confirmed"]
    assert count(AuditLog, AuditLog.action == "match.confirmed") == 1
    assert count(OutboxEvent, OutboxEvent.type == "match_completed") == 1
    db.session.refresh(submission)
    assert submission.status == SubmissionStatus.CONFIRMED


def test_the_next_match_opens_for_check_in_once_both_entrants_are_known(cup, make_field,
                                                                        organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    play(row(bracket, 0))
    play(row(bracket, 1), winner=1)
    final = row(bracket, row(bracket, 0).winner_to)
    assert final.state == MatchState.CHECK_IN
    assert count(MatchEvent, MatchEvent.match_id == final.id,
                 MatchEvent.kind == "entrants_known") == 1


def test_reporting_needs_both_sides_checked_in_and_a_participant(cup, make_field, organizer,
                                                                 player):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    with pytest.raises(IllegalTransition, match="both sides must check in first"):
        do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version))
    with pytest.raises(NotAllowed):
        do(lambda: control.check_in(player, match, match.version))
    check_in_both(match)
    with pytest.raises(Invalid, match="draw"):
        do(lambda: results.report(side_user(match, 0), match, [(1, 1)], match.version))
    with pytest.raises(IllegalTransition, match="a result must be reported first"):
        do(lambda: results.confirm(side_user(match, 1), match, match.version))


def test_a_stale_page_is_refused_with_the_current_state(cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    rendered = match.version
    do(lambda: control.check_in(side_user(match, 0), match, rendered))
    with pytest.raises(matches.MatchChanged) as stale:
        do(lambda: control.check_in(side_user(match, 1), match, rendered))
    assert stale.value.match.state == MatchState.CHECK_IN
    assert "changed since you opened it" in stale.value.message


def test_the_reporter_cannot_confirm_their_own_report(cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version))
    with pytest.raises(NotAllowed, match="your opponent confirms"):
        do(lambda: results.confirm(side_user(match, 0), match, match.version))
    with pytest.raises(Conflict, match="reported this match already"):
        do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version))


def test_both_sides_reporting_the_same_score_confirms_it(cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    do(lambda: results.report(side_user(match, 0), match, [(2, 1)], match.version))
    do(lambda: results.report(side_user(match, 1), match, [(2, 1)], match.version))
    assert match.state == MatchState.COMPLETED and match.winner_seed == match.seed_a


def test_conflicting_reports_dispute_and_staff_settle_by_choosing_one(cup, make_field,
                                                                      organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    do(lambda: results.report(side_user(match, 0), match, [(2, 1)], match.version))
    theirs = do(lambda: results.report(side_user(match, 1), match, [(0, 5)], match.version))
    assert match.state == MatchState.DISPUTED
    with pytest.raises(NotAllowed):
        do(lambda: results.settle(side_user(match, 0), match, match.version,
                                  submission_id=theirs.id))
    do(lambda: results.settle(organizer, match, match.version, submission_id=theirs.id))
    assert match.state == MatchState.COMPLETED and match.winner_seed == match.seed_b
    statuses = sorted(s.status.value for s in db.session.scalars(select(ResultSubmission)))
    assert statuses == ["CONFIRMED", "REJECTED"]


def test_a_rejection_needs_a_reason_and_staff_can_enter_the_final_score(cup, make_field,
                                                                        organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    do(lambda: results.report(side_user(match, 0), match, [(2, 1)], match.version))
    with pytest.raises(Invalid, match="reason"):
        do(lambda: results.reject(side_user(match, 1), match, " ", match.version))
    do(lambda: results.reject(side_user(match, 1), match, "I won that game", match.version))
    assert match.state == MatchState.DISPUTED
    with pytest.raises(IllegalTransition, match="the staff will settle"):
        do(lambda: results.confirm(side_user(match, 1), match, match.version))
    do(lambda: results.settle(organizer, match, match.version, score=(0, 1), reason="video"))
    assert (match.state, match.score_a, match.score_b) == (MatchState.COMPLETED, 0, 1)


def test_a_report_confirms_itself_after_the_deadline_by_job_or_by_sweep(cup, make_field,
                                                                        organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first, second = row(bracket, 0), row(bracket, 1)
    reports = []
    for match in (first, second):
        check_in_both(match)
        reports.append(do(lambda m=match: results.report(side_user(m, 0), m, [(1, 0)],
                                                         m.version)))
    assert auto_confirm_job(reports[0].id) is False  # not due yet
    save()
    db.session.execute(update(ResultSubmission).values(
        confirm_deadline=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert auto_confirm_job(reports[0].id) is True
    assert auto_confirm_job(reports[0].id) is False  # a second run is a no-op
    assert do(lambda: schedule.sweep(utcnow())) == 1  # the lost job of the other report
    assert do(lambda: schedule.sweep(utcnow())) == 0
    for match in (first, second):
        db.session.refresh(match)
        assert match.state == MatchState.COMPLETED
    assert count(AuditLog, AuditLog.action == "match.auto_confirmed") == 2
    assert {s.status for s in db.session.scalars(select(ResultSubmission))} == {
        SubmissionStatus.AUTO_CONFIRMED}


def test_a_double_elimination_is_played_to_its_champion_by_players_alone(cup, make_field,
                                                                          organizer):
    cup.format, cup.grand_final, cup.best_of = Format.DOUBLE_ELIMINATION, GrandFinal.RESET, 3
    save(cup)
    bracket, field = start_bracket(organizer, cup, 8, make_field)
    while todo := playable(bracket):
        for match in todo:
            play(match, winner=0 if match.seed_a < match.seed_b else 1)
    db.session.refresh(cup)
    assert cup.status == Status.COMPLETED
    assert progression.champion(cup).id == field[0].id
    assert count(AuditLog, AuditLog.action == "tournament.completed") == 1
    assert count(Match, Match.bracket_id == bracket.id, Match.state.not_in(
        [MatchState.COMPLETED, MatchState.CANCELLED])) == 0


def test_swiss_rounds_are_paired_as_results_complete_them_until_the_end(cup, make_field,
                                                                         organizer):
    cup.format = Format.SWISS
    save(cup)
    bracket, _ = start_bracket(organizer, cup, 6, make_field)
    rounds = set()
    while todo := playable(bracket):
        rounds |= {m.round for m in todo}
        for match in todo:
            play(match, winner=0 if match.seed_a < match.seed_b else 1)
    assert rounds == {1, 2, 3}
    db.session.refresh(cup)
    assert cup.status == Status.COMPLETED


def test_finishing_round_robin_groups_does_not_end_the_tournament(cup, make_field,
                                                                  organizer):
    cup.format = Format.ROUND_ROBIN
    save(cup)
    bracket, _ = start_bracket(organizer, cup, 6, make_field, groups=2, advance=1)
    while todo := playable(bracket):
        for match in todo:
            play(match, winner=0)
    db.session.refresh(cup)
    assert cup.status == Status.LIVE
    assert stages.playoffs_due(bracket)


def test_forfeit_double_forfeit_and_cancel_need_staff_and_a_reason(cup, make_field,
                                                                    organizer):
    bracket, _ = start_bracket(organizer, cup, 8, make_field)
    m0, m1, m2 = row(bracket, 0), row(bracket, 1), row(bracket, 2)
    with pytest.raises(NotAllowed):
        do(lambda: control.forfeit(side_user(m0, 0), m0, 1, "gone", m0.version))
    with pytest.raises(Invalid):
        do(lambda: control.forfeit(organizer, m0, 1, "", m0.version))
    do(lambda: control.forfeit(organizer, m0, 1, "no-show", m0.version))
    assert (m0.state, m0.winner_seed, m0.outcome) == (MatchState.FORFEIT, m0.seed_a, "forfeit")
    do(lambda: control.double_forfeit(organizer, m1, "both late", m1.version))
    semi = row(bracket, m0.winner_to)
    # The winner of m0 meets the bye from m1's double forfeit: a walkover, completed.
    assert semi.state == MatchState.COMPLETED and semi.outcome == "bye"
    do(lambda: control.cancel(organizer, m2, "server down", m2.version))
    assert m2.state == MatchState.CANCELLED
    with pytest.raises(IllegalTransition, match="will not be played"):
        do(lambda: control.cancel(organizer, m2, "again", m2.version))


def test_a_disqualified_entrant_gives_every_later_opponent_a_walkover(cup, make_field,
                                                                      organizer):
    bracket, _ = start_bracket(organizer, cup, 8, make_field)
    m0, m1 = row(bracket, 0), row(bracket, 1)
    loser_now = matches.registrations_of(m1)[1]
    do(lambda: control.disqualify(organizer, cup, loser_now, "cheating"))
    db.session.refresh(m1)
    assert (m1.state, m1.outcome, m1.winner_seed) == (MatchState.FORFEIT, "disqualified",
                                                      m1.seed_a)
    play(m0, winner=0)
    winner = matches.registrations_of(m0)[0]
    do(lambda: control.disqualify(organizer, cup, winner, "smurf account"))
    semi = row(bracket, m0.winner_to)
    # m0's winner was due in the semi-final: its opponent gets a walkover there.
    assert (semi.state, semi.outcome, semi.winner_seed) == (MatchState.FORFEIT, "disqualified",
                                                            m1.seed_a)
    assert "smurf account" in semi.state_reason
    assert sorted(brackets.current(cup).settings["disqualified"]) == sorted(
        [m1.seed_b, m0.seed_a])
    with pytest.raises(Conflict, match="already"):
        do(lambda: control.disqualify(organizer, cup, winner, "again"))
    assert count(AuditLog, AuditLog.action == "registration.disqualified") == 2


def test_staff_enter_a_result_in_any_open_state(cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    do(lambda: results.enter_result(organizer, match, match.version, score=(0, 1),
                                    reason="played offline"))
    assert match.state == MatchState.COMPLETED and match.winner_seed == match.seed_b
    with pytest.raises(IllegalTransition, match="use a correction"):
        do(lambda: results.enter_result(organizer, match, match.version, score=(1, 0)))


def test_a_correction_rewrites_the_next_match_until_it_has_started(cup, make_field,
                                                                   organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    m0, m1 = row(bracket, 0), row(bracket, 1)
    play(m0, winner=0)
    play(m1, winner=0)
    final = row(bracket, m0.winner_to)
    assert final.state == MatchState.CHECK_IN
    do(lambda: results.correct(organizer, m0, m0.version, score=(0, 1), reason="wrong side"))
    db.session.refresh(final)
    assert m0.winner_seed == m0.seed_b
    assert m0.seed_b in (final.seed_a, final.seed_b) and m0.seed_a not in (final.seed_a,
                                                                           final.seed_b)
    assert final.state == MatchState.CHECK_IN
    check_in_both(final)
    do(lambda: control.start(organizer, final, final.version))
    with pytest.raises(matches.DependentsStarted) as refused:
        do(lambda: results.correct(organizer, m0, m0.version, score=(1, 0), reason="again"))
    assert [m.id for m in refused.value.matches] == [final.id]
    assert f"M{final.number + 1}" in refused.value.message
    do(lambda: control.reset(organizer, final, "correcting M1", final.version))
    assert final.state == MatchState.READY
    do(lambda: results.correct(organizer, m0, m0.version, score=(1, 0), reason="again"))
    db.session.refresh(final)
    assert m0.seed_a in (final.seed_a, final.seed_b)
    assert final.state == MatchState.CHECK_IN  # a new entrant: check in again
    assert count(AuditLog, AuditLog.action == "match.corrected") == 2
    assert count(AuditLog, AuditLog.action == "match.reset") == 1


def test_matches_are_played_only_while_the_tournament_is_live(make_tournament, make_field,
                                                              organizer):
    early = make_tournament("early-cup", status=Status.CHECK_IN)
    bracket, _ = start_bracket(organizer, early, 4, make_field)
    match = row(bracket, 0)
    with pytest.raises(Conflict, match="while it is live"):
        do(lambda: control.check_in(side_user(match, 0), match, match.version))


def test_scheduling_opens_check_in_at_its_window_and_notifies_both_sides(cup, make_field,
                                                                        organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    later = utcnow() + timedelta(hours=2)
    do(lambda: match_schedule.schedule(organizer, match, later, match.version))
    assert match.state == MatchState.SCHEDULED
    with pytest.raises(Invalid, match="opens at"):
        do(lambda: control.check_in(side_user(match, 0), match, match.version))
    users = {side_user(match, 0).id, side_user(match, 1).id}
    assert {n.user_id for n in db.session.scalars(select(Notification))} == users
    # The other first match has no time: its check-in opens at the first sweep; this one's
    # opens 15 minutes before its time.
    assert do(lambda: schedule.sweep(utcnow())) == 1
    assert row(bracket, 1).state == MatchState.CHECK_IN and match.state == MatchState.SCHEDULED
    assert do(lambda: schedule.sweep(later - timedelta(minutes=20))) == 0
    assert do(lambda: schedule.sweep(later - timedelta(minutes=10))) == 1
    db.session.refresh(match)
    assert match.state == MatchState.CHECK_IN
    do(lambda: match_schedule.schedule(organizer, match, utcnow() + timedelta(minutes=5),
                                match.version))
    assert match.state == MatchState.CHECK_IN
    check_in_both(match)
    with pytest.raises(NotAllowed):
        do(lambda: match_schedule.schedule(side_user(match, 0), match, later, match.version))


def test_a_report_carries_its_evidence_links_and_screenshots(cup, make_field, organizer):
    from app.services import uploads

    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    match = row(bracket, 0)
    check_in_both(match)
    png = uploads.Upload(b"\x89PNG\r\n\x1a\n" + b"0" * 64, uploads.PNG, "win.png")
    pdf = uploads.Upload(b"%PDF-1.4 ...", uploads.PDF, "win.pdf")
    with pytest.raises(Invalid, match="PNG, JPG or WebP"):
        do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version,
                                  screenshots=[pdf]))
    with pytest.raises(Invalid, match="web address"):
        do(lambda: results.report(side_user(match, 0), match, [(1, 0)], match.version,
                                  links=["ftp://files.example/x"]))
    submission = do(lambda: results.report(
        side_user(match, 0), match, [(1, 0)], match.version,
        links=["https://clips.example/42"], screenshots=[png]))
    assert submission.links == ["https://clips.example/42"]
    [stored] = submission.evidence
    assert uploads.path_of(stored).read_bytes() == png.data


def test_the_sweeper_forfeits_no_shows_only_where_the_tournament_asks(make_tournament,
                                                                       make_field, organizer):
    from app.services import match_schedule

    for auto in (False, True):
        cup = make_tournament(f"no-show-{auto}", status=Status.LIVE, capacity=8,
                              auto_forfeit_no_shows=auto)
        bracket, _ = start_bracket(organizer, cup, 2, make_field)
        match = row(bracket, 0)
        do(lambda m=match: match_schedule.schedule(organizer, m, utcnow() + timedelta(minutes=5),
                                                   m.version))
        do(lambda m=match: control.check_in(side_user(m, 1), m, m.version))
        assert do(lambda: match_schedule.forfeit_due_no_shows(utcnow())) == 0  # not its time
        later = utcnow() + timedelta(minutes=6)
        assert do(lambda t=later: match_schedule.forfeit_due_no_shows(t)) == int(auto)
        db.session.refresh(match)
        if auto:
            assert match.state == MatchState.FORFEIT and match.winner_seed == match.seed_b
            assert "did not check in" in match.state_reason
        else:
            assert match.state == MatchState.CHECK_IN
            with pytest.raises(NotAllowed):  # nobody acting: only the schedule may, if asked
                do(lambda m=match: control.forfeit(None, m, 0, "gone", m.version))
