"""Staff running matches through HTTP: the match list, bulk scheduling, the control page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Format,
    Match,
    MatchState,
    Notification,
    ResultSubmission,
    StaffMember,
    StaffRole,
    Status,
    Visibility,
    utcnow,
)
from app.services import match_control as control
from app.services import matches, results
from tests.conftest import login, save
from tests.integration.test_matches import check_in_both, row, side_user
from tests.integration.test_registrations import do


@pytest.fixture
def cup(make_tournament):
    return make_tournament("ops-cup", status=Status.LIVE, capacity=16, best_of=3,
                           format=Format.DOUBLE_ELIMINATION, visibility=Visibility.PUBLIC,
                           timezone="Europe/Berlin")


@pytest.fixture
def bracket(cup, make_published):
    """A finalized 8-entrant double elimination."""
    return make_published(cup, 8)


@pytest.fixture
def staff(app, organizer):
    client = app.test_client()
    login(client, organizer)
    return client






def fresh(match) -> Match:
    db.session.refresh(match)
    return match


def control_url(cup, match, action=""):
    return f"/manage/t/{cup.slug}/matches/{match.id}" + (f"/{action}" if action else "")




def report(match, winner=0):
    check_in_both(match)
    games = [(1, 0), (1, 0)] if winner == 0 else [(0, 1), (0, 1)]
    return do(lambda: results.report(side_user(match, winner), match, games,
                                     fresh(match).version))


def test_the_list_filters_by_round_state_and_entrant_and_says_what_each_waits_for(
        cup, bracket, staff):
    first = row(bracket, 0)
    report(first)
    check_in_both(row(bracket, 1))
    do(lambda: control.start(side_user(row(bracket, 1), 0), row(bracket, 1),
                             fresh(row(bracket, 1)).version))
    db.session.execute(update(Match).where(Match.id == row(bracket, 1).id).values(
        started_at=utcnow() - timedelta(minutes=41)))
    db.session.commit()
    page = staff.get(f"/manage/t/{cup.slug}/matches").get_data(as_text=True)
    assert "14 of 14 matches shown" in page
    assert "Waiting for the opponent&#39;s confirmation, 23 h left" in page
    assert "No result 41 min after the start" in page
    assert "Waiting for the matches before it" in page
    only_reported = staff.get(f"/manage/t/{cup.slug}/matches?state=PENDING_RESULT")
    assert "1 of 14 matches shown" in only_reported.get_data(as_text=True)
    losers = staff.get(f"/manage/t/{cup.slug}/matches?round=losers:1").get_data(as_text=True)
    assert "2 of 14 matches shown" in losers and "Losers round 1" in losers
    name = matches.registrations_of(first)[1].name
    found = staff.get(f"/manage/t/{cup.slug}/matches?q={name.upper()}").get_data(as_text=True)
    assert "1 of 14 matches shown" in found
    bad = staff.get(f"/manage/t/{cup.slug}/matches?state=NONSENSE")
    assert "This filter is not valid" in bad.get_data(as_text=True)


def test_a_round_is_scheduled_at_once_in_the_tournament_time_zone_and_both_sides_told(
        cup, bracket, staff):
    response = staff.post(f"/manage/t/{cup.slug}/matches/schedule-round", data={
        "round-round": "winners:1", "round-when": "2030-06-01T18:30"}, follow_redirects=True)
    assert "Scheduled 4 matches" in response.get_data(as_text=True)
    first_round = [row(bracket, n) for n in range(4)]
    assert {m.scheduled_at.isoformat() for m in first_round} == {"2030-06-01T16:30:00+00:00"}
    assert all(m.state == MatchState.SCHEDULED for m in first_round)
    assert db.session.scalar(select(func.count(Notification.id))) == 8
    missing = staff.post(f"/manage/t/{cup.slug}/matches/schedule-round",
                         data={"round-round": "winners:1", "round-when": ""})
    assert missing.status_code == 400 and "Choose the date and time." in missing.get_data(
        as_text=True)


def test_the_call_time_plan_never_calls_a_match_before_its_feeders(cup, bracket, staff):
    response = staff.post(f"/manage/t/{cup.slug}/matches/plan", data={
        "first": "2030-06-01T10:00", "minutes": "45", "from_wave": "1"}, follow_redirects=True)
    assert "Scheduled 14 matches" in response.get_data(as_text=True)
    rows = {m.number: m for m in db.session.scalars(select(Match).where(
        Match.bracket_id == bracket.id))}
    for m in rows.values():
        for source in (m.source_a, m.source_b):
            if source.startswith(("winner:", "loser:")):
                feeder = rows[int(source.partition(":")[2])]
                assert feeder.scheduled_at < m.scheduled_at
    bad = staff.post(f"/manage/t/{cup.slug}/matches/plan",
                     data={"first": "2030-06-01T10:00", "minutes": "0"})
    assert bad.status_code == 400


def test_staff_enter_a_result_game_by_game_or_as_wins_and_the_winner_advances(cup, bracket,
                                                                            staff):
    first = row(bracket, 0)
    response = staff.post(control_url(cup, first, "result"), data={
        "result-version": first.version, "result-game-1-a": "0", "result-game-1-b": "2",
        "result-game-2-a": "1", "result-game-2-b": "2"}, follow_redirects=True)
    assert "Result entered" in response.get_data(as_text=True)
    assert fresh(first).state == MatchState.COMPLETED and first.winner_seed == first.seed_b
    second = row(bracket, 1)
    by_wins = staff.post(control_url(cup, second, "result"), data={
        "result-version": second.version, "result-score_a": "2", "result-score_b": "0",
        "result-reason": "Played offline"})
    assert by_wins.status_code == 303 and fresh(second).winner_seed == second.seed_a
    third = row(bracket, 2)
    wrong = staff.post(control_url(cup, third, "result"), data={
        "result-version": third.version, "result-score_a": "3", "result-score_b": "0"})
    assert wrong.status_code == 400
    assert "is not a final score" in wrong.get_data(as_text=True)
    assert fresh(third).state != MatchState.COMPLETED


def test_a_dispute_is_settled_by_choosing_one_of_its_reports(cup, bracket, staff):
    first = row(bracket, 0)
    report(first, winner=0)
    do(lambda: results.reject(side_user(first, 1), first, "We won", fresh(first).version))
    page = staff.get(control_url(cup, first)).get_data(as_text=True)
    assert "Settle the dispute" in page
    chosen = db.session.scalar(select(ResultSubmission.id).where(
        ResultSubmission.match_id == first.id))
    response = staff.post(control_url(cup, first, "settle"), data={
        "settle-version": fresh(first).version, "settle-submission": str(chosen)},
        follow_redirects=True)
    assert "Dispute settled" in response.get_data(as_text=True)
    assert fresh(first).state == MatchState.COMPLETED and first.winner_seed == first.seed_a


def test_forfeits_need_a_reason_and_both_sides_can_forfeit(cup, bracket, staff):
    first, second = row(bracket, 0), row(bracket, 1)
    no_reason = staff.post(control_url(cup, first, "forfeit"), data={
        "forfeit-version": first.version, "forfeit-side": "0", "forfeit-reason": ""})
    assert no_reason.status_code == 400 and fresh(first).state != MatchState.FORFEIT
    staff.post(control_url(cup, first, "forfeit"), data={
        "forfeit-version": first.version, "forfeit-side": "0", "forfeit-reason": "Left"})
    assert fresh(first).state == MatchState.FORFEIT and first.winner_seed == first.seed_b
    staff.post(control_url(cup, second, "forfeit"), data={
        "forfeit-version": second.version, "forfeit-side": "both", "forfeit-reason": "Gone"})
    assert fresh(second).outcome == "double_forfeit"


def test_a_no_show_is_forfeited_in_one_click_once_the_match_time_passed(cup, bracket, staff):
    first = row(bracket, 0)
    do(lambda: control.check_in(side_user(first, 1), first, first.version))
    db.session.execute(update(Match).where(Match.id == first.id).values(
        scheduled_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    page = staff.get(control_url(cup, first)).get_data(as_text=True)
    absent = matches.registrations_of(first)[0].name
    assert "did not check in" in page and absent in page
    staff.post(control_url(cup, first, "no-shows"), data={"version": fresh(first).version})
    assert fresh(first).state == MatchState.FORFEIT and first.winner_seed == first.seed_b
    assert f"{absent} did not check in" in first.state_reason


def test_a_correction_after_a_dependent_started_lists_it_and_works_after_its_reset(
        cup, bracket, staff):
    semi_feeders = [row(bracket, 0), row(bracket, 1)]
    for m in semi_feeders:
        report(m)
        do(lambda m=m: results.confirm(side_user(m, 1), m, fresh(m).version))
    nxt = row(bracket, fresh(semi_feeders[0]).winner_to)
    check_in_both(nxt)
    do(lambda: control.start(side_user(nxt, 0), nxt, fresh(nxt).version))
    first = fresh(semi_feeders[0])
    refused = staff.post(control_url(cup, first, "correct"), data={
        "correct-version": first.version, "correct-score_a": "0", "correct-score_b": "2",
        "correct-reason": "Wrong winner"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert f"M{nxt.number + 1}" in html and control_url(cup, nxt) in html
    staff.post(control_url(cup, nxt, "reset"), data={
        "reset-version": fresh(nxt).version, "reset-reason": "Correcting M1"})
    done = staff.post(control_url(cup, first, "correct"), data={
        "correct-version": fresh(first).version, "correct-score_a": "0",
        "correct-score_b": "2", "correct-reason": "Wrong winner"})
    assert done.status_code == 303
    assert fresh(first).winner_seed == first.seed_b
    assert first.seed_b in (fresh(nxt).seed_a, nxt.seed_b)


def test_a_coordinator_runs_matches_but_cannot_correct_or_reset(app, cup, bracket, make_user):
    helper = make_user("coordinator")
    save(StaffMember(tournament_id=cup.id, user_id=helper.id, role=StaffRole.COORDINATOR))
    client = app.test_client()
    login(client, helper)
    first = row(bracket, 0)
    assert client.post(control_url(cup, first, "result"), data={
        "result-version": first.version, "result-score_a": "2",
        "result-score_b": "1"}).status_code == 303
    page = client.get(control_url(cup, fresh(first))).get_data(as_text=True)
    assert "Correct the result" not in page and "Reset the match" not in page
    assert client.post(control_url(cup, first, "correct"), data={
        "correct-version": first.version, "correct-score_a": "0", "correct-score_b": "2",
        "correct-reason": "x"}).status_code == 403


def test_details_set_the_coordinator_lobby_and_stream_and_refuse_nonsense(cup, bracket, staff,
                                                                         organizer):
    first = row(bracket, 0)
    bad = staff.post(control_url(cup, first, "details"), data={
        "version": first.version, "coordinator": str(organizer.id),
        "lobby-room_code": "R1", "stream_url": "javascript:alert(1)"})
    assert bad.status_code == 400 and fresh(first).stream_url is None
    ok = staff.post(control_url(cup, first, "details"), data={
        "version": first.version, "coordinator": str(organizer.id),
        "lobby-room_code": "R1", "lobby-password": "pw", "stream_url": "https://tv.example/a"})
    assert ok.status_code == 303
    assert fresh(first).lobby == {"room_code": "R1", "password": "pw"}
    assert first.coordinator_id == organizer.id
    mine = staff.get(f"/manage/t/{cup.slug}/matches?coordinator={organizer.id}")
    assert "1 of 14 matches shown" in mine.get_data(as_text=True)


def test_an_organizer_disqualifies_an_entrant_from_the_list(cup, bracket, staff):
    first = row(bracket, 0)
    gone = matches.registrations_of(first)[0]
    response = staff.post(f"/manage/t/{cup.slug}/disqualify", data={
        "dq-registration": str(gone.id), "dq-reason": "Cheating"}, follow_redirects=True)
    assert "Disqualified" in response.get_data(as_text=True)
    assert fresh(first).state == MatchState.FORFEIT and first.winner_seed == first.seed_b
