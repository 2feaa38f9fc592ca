"""The match state machine and score rules, for every state, action and many scores."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import MatchState as S
from app.services.errors import IllegalTransition, Invalid
from app.services.match_rules import (
    TRANSITIONS,
    Action,
    transition,
    validate_games,
    validate_links,
    validate_series,
)

A = Action
OPEN = [S.SCHEDULED, S.CHECK_IN, S.READY, S.LIVE, S.PENDING_RESULT, S.DISPUTED]
# The whole machine, written out once more by hand: every legal pair and where it leads.
EXPECTED = {
    (S.PENDING, A.ENTRANTS_KNOWN): S.CHECK_IN,
    (S.SCHEDULED, A.CHECK_IN): S.CHECK_IN,
    (S.CHECK_IN, A.CHECK_IN): S.CHECK_IN,
    (S.CHECK_IN, A.BOTH_CHECKED_IN): S.READY,
    (S.READY, A.START): S.LIVE,
    (S.READY, A.REPORT): S.PENDING_RESULT,
    (S.LIVE, A.REPORT): S.PENDING_RESULT,
    (S.PENDING_RESULT, A.CONFIRM): S.COMPLETED,
    (S.PENDING_RESULT, A.AUTO_CONFIRM): S.COMPLETED,
    (S.PENDING_RESULT, A.REJECT): S.DISPUTED,
    (S.DISPUTED, A.SETTLE): S.COMPLETED,
    **{(s, A.ENTER_RESULT): S.COMPLETED for s in OPEN},
    **{(s, A.FORFEIT): S.FORFEIT for s in OPEN},
    **{(s, A.CANCEL): S.CANCELLED for s in OPEN},
    (S.COMPLETED, A.CORRECT): S.COMPLETED,
    (S.FORFEIT, A.CORRECT): S.COMPLETED,
    **{(s, A.RESET): S.READY for s in (S.LIVE, S.PENDING_RESULT, S.DISPUTED, S.COMPLETED,
                                        S.FORFEIT, S.CANCELLED)},
    (S.PENDING, A.SCHEDULE): S.PENDING,
    (S.SCHEDULED, A.SCHEDULE): S.SCHEDULED,
    (S.CHECK_IN, A.SCHEDULE): S.SCHEDULED,
    (S.READY, A.SCHEDULE): S.READY,
    (S.SCHEDULED, A.OPEN_CHECK_IN): S.CHECK_IN,
    (S.PENDING, A.PLAY_OPENS): S.READY,  # a tournament without match check-in
    (S.SCHEDULED, A.PLAY_OPENS): S.READY,
}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", list(A))
def test_every_state_and_action_is_either_legal_or_refused_with_a_reason(state, action):
    if (state, action) in EXPECTED:
        assert transition(state, action) == EXPECTED[(state, action)]
        return
    with pytest.raises(IllegalTransition) as refused:
        transition(state, action)
    message = refused.value.message
    assert message.startswith(f"match is {state.value.replace('_', ' ')}; ")
    assert len(message) > len(state.value) + 20  # a reason, not just the state


def test_the_table_holds_nothing_beyond_the_expected_machine():
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "action", "reason"), [
    (S.LIVE, A.CONFIRM, "match is LIVE; a result must be reported first."),
    (S.COMPLETED, A.REPORT, "match is COMPLETED; use a correction."),
    (S.COMPLETED, A.ENTER_RESULT, "match is COMPLETED; use a correction."),
    (S.CHECK_IN, A.REPORT, "match is CHECK IN; both sides must check in first."),
    (S.PENDING, A.CHECK_IN, "match is PENDING; its entrants are not known yet."),
    (S.PENDING_RESULT, A.REPORT,
     "match is PENDING RESULT; a result waits for confirmation; confirm or reject it."),
    (S.DISPUTED, A.CONFIRM, "match is DISPUTED; the staff will settle the dispute."),
])
def test_refusals_say_what_to_do_instead(state, action, reason):
    with pytest.raises(IllegalTransition, match=reason.replace(".", r"\.")):
        transition(state, action)


def test_finished_states_are_final_except_for_corrections_and_resets():
    for state in (S.COMPLETED, S.FORFEIT, S.CANCELLED):
        legal = {a for a in A if (state, a) in TRANSITIONS}
        assert legal <= {A.CORRECT, A.RESET}


# --- game scores -------------------------------------------------------------------------


@pytest.mark.parametrize(("best_of", "games", "wins"), [
    (1, [(13, 7)], (1, 0)),
    (3, [(1, 0), (0, 1), (0, 1)], (1, 2)),
    (3, [(5, 3), (6, 2)], (2, 0)),
    (5, [(1, 0), (1, 0), (0, 1), (1, 0)], (3, 1)),
])
def test_legal_series(best_of, games, wins):
    assert validate_games(best_of, games) == wins


@pytest.mark.parametrize(("best_of", "games", "problem"), [
    (3, [(2, 0), (2, 0), (0, 2)], "over after game 2"),
    (3, [(2, 0)], "Enter every game"),
    (3, [(2, 2), (1, 0), (1, 0)], "draw"),
    (1, [(-1, 0)], "whole numbers"),
    (1, [(True, 0)], "whole numbers"),
    (1, [(1,)], "two scores"),
    (1, [], "each game"),
])
def test_illegal_series_are_refused_with_the_reason(best_of, games, problem):
    with pytest.raises(Invalid, match=problem):
        validate_games(best_of, games)


game = st.tuples(st.integers(0, 30), st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(best_of=st.sampled_from([1, 3, 5, 7]), games=st.lists(game, max_size=9))
def test_accepted_series_end_exactly_when_one_side_wins_enough(best_of, games):
    needed = best_of // 2 + 1
    try:
        a, b = validate_games(best_of, games)
    except Invalid:
        # Refused: a draw, or the series not (or more than) complete.
        wins, over_early = [0, 0], False
        for x, y in games:
            if max(wins) == needed:
                over_early = True
            if x != y:
                wins[0 if x > y else 1] += 1
        assert (not games or any(x == y for x, y in games) or over_early
                or max(wins) < needed)
        return
    assert max(a, b) == needed and min(a, b) < needed and a + b == len(games)
    assert validate_series(best_of, a, b) == (a, b)
    last = games[-1]
    assert (last[0] > last[1]) == (a > b)  # the deciding game is the last one


@pytest.mark.parametrize(("best_of", "a", "b"), [(3, 2, 2), (3, 3, 0), (3, 1, 0), (1, 0, 0)])
def test_a_series_score_must_be_final(best_of, a, b):
    with pytest.raises(Invalid):
        validate_series(best_of, a, b)


def test_evidence_links_are_web_addresses_at_most_five():
    assert validate_links([" https://clips.example/1 ", ""]) == ["https://clips.example/1"]
    with pytest.raises(Invalid, match="not a web address"):
        validate_links(["javascript:alert(1)"])
    with pytest.raises(Invalid, match="At most 5"):
        validate_links([f"https://x.example/{i}" for i in range(6)])
    with pytest.raises(Invalid, match="300"):
        validate_links(["https://x.example/" + "a" * 300])
