"""The engine play a process keeps between results of a bracket (`services.bracket_rows`).

A result reuses the play the previous result of this process left, only while nobody else
wrote the bracket since; a result that did not commit leaves nothing behind.
"""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import event, inspect

from app.extensions import db
from app.models import Format, MatchState, Status
from app.services import bracket_rows, results
from app.services import match_progression as progression
from app.services.errors import IllegalTransition
from tests.conftest import save
from tests.integration.test_matches import (
    check_in_both,
    play,
    playable,
    row,
    side_user,
    start_bracket,
)
from tests.integration.test_registrations import do


@pytest.fixture
def cup(make_tournament):
    return make_tournament("kept-cup", status=Status.LIVE, capacity=16)


@pytest.fixture
def state_reads(app):
    """How many times the state columns of a whole bracket ("all") or of the rows written
    since a kept play ("newer") were read from the database."""
    reads = {"all": 0, "newer": 0}

    def count(_conn, _cursor, statement, *_):  # the state columns, and nothing else
        if statement.startswith("SELECT matches.seed_a, matches.seed_b, matches.status,"):
            reads["all"] += 1
        elif statement.startswith("SELECT matches.number, matches.seed_a, matches.seed_b, "
                                  "matches.status,"):
            reads["newer"] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    yield reads
    event.remove(engine, "before_cursor_execute", count)


def another_process(call):
    """Run `call` as another process would: what this one keeps stays as it was."""
    this_process = copy.deepcopy(bracket_rows._plays)
    call()
    bracket_rows._plays.clear()
    bracket_rows._plays.update(this_process)


def semi_finals_and_final(bracket):
    first, second = row(bracket, 0), row(bracket, 1)
    return first, second, row(bracket, first.winner_to)


def test_the_next_result_of_the_bracket_reuses_the_play_the_last_one_left(
        cup, make_field, organizer, state_reads):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first, second, final = semi_finals_and_final(bracket)
    play(first)
    reads = dict(state_reads)
    play(second, winner=1)
    assert state_reads == reads  # not one read of the bracket's states
    db.session.refresh(final)
    assert {final.seed_a, final.seed_b} == {first.winner_seed, second.winner_seed}
    assert final.state == MatchState.CHECK_IN


def test_a_result_another_process_wrote_is_caught_up_with_by_the_next_result_here(
        cup, make_field, organizer, state_reads):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first, second, final = semi_finals_and_final(bracket)
    play(first)
    another_process(lambda: play(second, winner=1))
    reads = dict(state_reads)
    db.session.refresh(final)
    play(final, winner=1)  # needs both semi-finals' winners in the play
    # The kept play was a version behind: the rows written since were read, not all of them.
    assert state_reads == {"all": reads["all"], "newer": reads["newer"] + 1}
    db.session.refresh(cup)
    assert cup.status == Status.COMPLETED
    assert final.winner_seed == second.winner_seed


def test_a_play_far_behind_is_read_again_whole(make_tournament, make_field, organizer,
                                               state_reads, monkeypatch):
    monkeypatch.setattr(bracket_rows, "CATCH_UP_ROWS", 4)
    tournament = make_tournament("kept-far", status=Status.LIVE, capacity=16)
    bracket, _ = start_bracket(organizer, tournament, 8, make_field)
    play(row(bracket, 0))

    def the_rest_of_round_one():
        for number in (1, 2, 3):
            play(row(bracket, number))

    another_process(the_rest_of_round_one)  # 3 results: 5 rows changed since
    reads = dict(state_reads)
    while todo := playable(bracket):
        for match in todo:
            play(match)
    assert state_reads["all"] == reads["all"] + 1
    db.session.refresh(tournament)
    assert tournament.status == Status.COMPLETED


@pytest.fixture
def reported(cup, make_field, organizer):
    """Semi-final 1 played (its play kept), semi-final 2 reported by side A: the semis and
    the final."""
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first, second, final = semi_finals_and_final(bracket)
    play(first)
    check_in_both(second)
    do(lambda: results.report(side_user(second, 0), second, [(1, 0)], second.version))
    return first, second, final


def test_a_result_that_rolled_back_leaves_nothing_in_the_next_one(reported, organizer):
    first, second, final = reported
    results.confirm(side_user(second, 1), second, second.version)  # side A advances ...
    db.session.rollback()  # ... in a transaction that never commits
    db.session.refresh(second)
    assert second.state == MatchState.PENDING_RESULT
    do(lambda: results.reject(side_user(second, 1), second, "not so", second.version))
    do(lambda: results.settle(organizer, second, second.version, score=(0, 1),
                              reason="replayed on stream"))
    db.session.refresh(final)
    assert {final.seed_a, final.seed_b} == {first.winner_seed, second.seed_b}


def test_a_transaction_closed_without_commit_leaves_nothing_in_the_next_one(reported):
    first, second, final = reported
    results.confirm(side_user(second, 1), second, second.version)
    db.session.close()  # a worker giving up on the session, say
    first, second, final = (db.session.get(type(obj), inspect(obj).identity)
                            for obj in (first, second, final))
    assert second.state == MatchState.PENDING_RESULT
    do(lambda: results.confirm(side_user(second, 1), second, second.version))  # next transaction
    db.session.refresh(final)
    assert {final.seed_a, final.seed_b} == {first.winner_seed, second.seed_a}


def test_a_savepoint_that_rolled_back_leaves_nothing_in_the_rest_of_its_transaction(
        reported):
    first, second, final = reported
    with pytest.raises(RuntimeError), db.session.begin_nested():
        results.confirm(side_user(second, 1), second, second.version)
        raise RuntimeError("something after it failed")
    db.session.refresh(second)
    assert second.state == MatchState.PENDING_RESULT
    do(lambda: results.confirm(side_user(second, 1), second, second.version))  # same transaction
    db.session.refresh(final)
    assert {final.seed_a, final.seed_b} == {first.winner_seed, second.seed_a}


def test_a_refused_operation_does_not_leave_its_play_half_changed(cup, make_field, organizer):
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    first, second, final = semi_finals_and_final(bracket)
    play(first)

    def half_done_then_refused(engine_play):
        engine_play.states[second.number].slots[1] = None  # the winner-to-be
        return engine_play.record(final.number, 0)  # the final has one entrant so far

    with pytest.raises(IllegalTransition):
        progression.apply(organizer, cup, bracket, half_done_then_refused, acted=final.number)
    db.session.commit()  # a caller that goes on after the refusal: nothing else changed
    play(second, winner=1)
    db.session.refresh(final)
    assert {final.seed_a, final.seed_b} == {first.winner_seed, second.winner_seed}


def test_swiss_plays_are_read_again_for_every_result(cup, make_field, organizer, state_reads):
    # Pairing a Swiss round grows the structure: a kept play would carry an old one.
    cup.format = Format.SWISS
    save(cup)
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    play(row(bracket, 0))
    reads = state_reads["all"]
    play(row(bracket, 1))  # completes round 1: round 2 is paired
    assert state_reads["all"] > reads
    assert len(playable(bracket)) == 2
