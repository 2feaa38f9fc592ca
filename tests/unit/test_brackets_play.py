"""Playing a bracket: byes, forfeits, disqualification, grand-final reset, corrections, resume."""

from __future__ import annotations

import copy
import random

import pytest

from app.brackets import build
from app.brackets.model import BYE, BestOf, Bracket, BracketError, Link, Side
from app.brackets.play import Outcome, Play, Status
from app.brackets.simulate import higher_seed, play_out
from app.brackets.standings import standings


def find(bracket: Bracket, side: Side, round_: int, position: int) -> int:
    """The id of the match at (side, round, position)."""
    return next(m.id for m in bracket.matches
                if (m.side, m.round, m.position) == (side, round_, position))


def table(play: Play) -> list[tuple[int, list[int]]]:
    return [(p.place, p.seeds) for p in standings(play)]


def test_a_bye_moves_its_entrant_on_at_once():
    play = Play(build("single_elimination", 3))
    bye = play.states[find(play.bracket, Side.WINNERS, 1, 1)]
    final = find(play.bracket, Side.WINNERS, 2, 1)
    assert (bye.status, bye.outcome, bye.winner) == (Status.COMPLETED, Outcome.BYE, 1)
    assert play.states[final].slots == [1, None]
    assert play.states[final].status == Status.WAITING
    assert play.ready() == [find(play.bracket, Side.WINNERS, 1, 2)]
    play.record(play.ready()[0], 3)
    assert play.states[final].slots == [1, 3] and play.ready() == [final]


def test_a_losers_match_facing_a_bye_completes_when_its_entrant_arrives():
    play = Play(build("double_elimination", 5))
    walkover = find(play.bracket, Side.LOSERS, 1, 1)  # the loser of 1-bye meets the loser of 4-5
    two_byes = play.states[find(play.bracket, Side.LOSERS, 1, 2)]
    assert play.states[walkover].slots == [BYE, None]
    assert play.states[walkover].status == Status.WAITING
    assert (two_byes.status, two_byes.winner) == (Status.COMPLETED, BYE)
    changed = play.record(find(play.bracket, Side.WINNERS, 1, 2), 4)
    assert walkover in changed
    assert play.states[walkover].winner == 5
    assert play.states[walkover].outcome == Outcome.BYE


def test_no_match_with_a_bye_is_ever_ready():
    for entrants in range(2, 40):
        play = Play(build("double_elimination", entrants))
        while ready := play.ready():
            assert all(BYE not in play.states[m].slots for m in ready)
            play.record(ready[0], play.states[ready[0]].slots[1])
        assert play.finished()


def test_a_forfeit_is_a_loss_that_still_drops_to_the_losers_bracket():
    play = Play(build("double_elimination", 4))
    first = find(play.bracket, Side.WINNERS, 1, 1)
    play.forfeit(first, 1)
    assert play.states[first].outcome == Outcome.FORFEIT
    assert play.states[find(play.bracket, Side.WINNERS, 2, 1)].slots[0] == 4
    assert play.states[find(play.bracket, Side.LOSERS, 1, 1)].slots[0] == 1


def test_a_double_forfeit_sends_a_bye_forward_and_eliminates_both():
    play = Play(build("single_elimination", 8))
    next_match = find(play.bracket, Side.WINNERS, 2, 1)
    play.double_forfeit(find(play.bracket, Side.WINNERS, 1, 1))
    assert play.states[next_match].slots == [BYE, None]
    play.record(find(play.bracket, Side.WINNERS, 1, 2), 5)
    assert play.states[next_match].winner == 5  # a walkover, never ready
    _finish(play)
    # Only one entrant lost in round 2 (the other semi-final was a walkover): round-1 exits
    # and the two who forfeited share fourth.
    assert table(play) == [(1, [2]), (2, [5]), (3, [3]), (4, [1, 4, 6, 7, 8])]


def _finish(play: Play) -> Play:
    while ready := play.ready():
        play.record(ready[0], min(play.states[ready[0]].slots))
    return play


def test_a_disqualified_entrant_loses_by_walkover_now_and_later():
    play = Play(build("single_elimination", 8))
    play.record(find(play.bracket, Side.WINNERS, 1, 1), 1)
    semi = find(play.bracket, Side.WINNERS, 2, 1)
    assert play.states[semi].slots == [1, None]
    play.disqualify(1)
    assert play.states[semi].slots == [BYE, None]  # 1's next opponent will get a walkover
    play.record(find(play.bracket, Side.WINNERS, 1, 2), 4)
    assert (play.states[semi].winner, play.states[semi].outcome) == (4, Outcome.BYE)
    ready_semi = find(play.bracket, Side.WINNERS, 2, 2)
    play.record(find(play.bracket, Side.WINNERS, 1, 3), 3)
    play.record(find(play.bracket, Side.WINNERS, 1, 4), 2)
    play.disqualify(3)
    assert play.states[ready_semi].outcome == Outcome.DISQUALIFIED
    assert play.states[ready_semi].winner == 2
    _finish(play)
    assert table(play) == [(1, [2]), (2, [4]), (3, [5, 6, 7, 8]), (7, [1, 3])]


def test_a_disqualified_entrant_drops_a_bye_into_the_losers_bracket():
    play = Play(build("double_elimination", 4))
    play.disqualify(1)
    losers_first = find(play.bracket, Side.LOSERS, 1, 1)
    assert play.states[losers_first].slots == [BYE, None]
    play.record(find(play.bracket, Side.WINNERS, 1, 2), 2)
    assert play.states[losers_first].winner == 3
    _finish(play)
    assert play.finished() and table(play)[-1] == (4, [1])


def test_the_reset_exists_only_if_the_losers_champion_wins_the_first_final():
    play = play_out(build("double_elimination", 4, grand_final="reset"), higher_seed)
    final, reset = (m.id for m in play.matches if m.side == Side.GRAND_FINAL)
    assert play.states[final].slots == [1, 2] and play.states[final].winner == 1
    assert play.states[reset].status == Status.SKIPPED
    assert table(play)[:2] == [(1, [1]), (2, [2])]

    play = Play(build("double_elimination", 4, grand_final="reset"))
    while (ready := play.ready()) != [final]:
        assert play.states[reset].status == Status.LOCKED
        play.record(ready[0], min(play.states[ready[0]].slots))
    play.record(final, 2)  # the losers-bracket champion wins the first final
    assert play.states[reset].slots == [1, 2] and play.ready() == [reset]
    play.record(reset, 2)
    assert table(play)[:2] == [(1, [2]), (2, [1])]


def test_no_reset_after_a_walkover_in_the_first_final():
    play = Play(build("double_elimination", 4, grand_final="reset"))
    final, reset = (m.id for m in play.matches if m.side == Side.GRAND_FINAL)
    while (ready := play.ready()) != [final]:
        play.record(ready[0], min(play.states[ready[0]].slots))
    play.disqualify(1)
    assert play.states[final].winner == 2 and play.states[reset].status == Status.SKIPPED
    assert play.finished() and table(play) == [(1, [2]), (2, [3]), (3, [4]), (4, [1])]


def test_correcting_a_result_moves_the_new_winner_on_and_undoes_what_followed():
    play = Play(build("single_elimination", 8))
    first, second = find(play.bracket, Side.WINNERS, 1, 1), find(play.bracket, Side.WINNERS, 1, 2)
    semi = find(play.bracket, Side.WINNERS, 2, 1)
    play.record(first, 1)
    play.record(second, 4)
    play.record(semi, 1)
    changed = play.reopen(first)
    assert set(changed) == {first, semi, find(play.bracket, Side.WINNERS, 3, 1)}
    assert play.states[semi].slots == [None, 4] and play.states[semi].winner is None
    assert play.states[first].status == Status.READY
    play.record(first, 8)
    assert play.states[semi].slots == [8, 4] and play.states[semi].status == Status.READY


def test_reopening_the_first_final_brings_the_reset_back():
    play = play_out(build("double_elimination", 4, grand_final="reset"), higher_seed)
    final, reset = (m.id for m in play.matches if m.side == Side.GRAND_FINAL)
    play.reopen(final)
    assert play.states[reset].status == Status.LOCKED
    play.record(final, 2)
    assert play.states[reset].status == Status.READY


def test_byes_and_disqualifications_cannot_be_reopened():
    play = Play(build("single_elimination", 3))
    with pytest.raises(BracketError):
        play.reopen(find(play.bracket, Side.WINNERS, 1, 1))


def test_recording_checks_the_match_and_the_entrants():
    play = Play(build("single_elimination", 4))
    first, final = find(play.bracket, Side.WINNERS, 1, 1), find(play.bracket, Side.WINNERS, 2, 1)
    with pytest.raises(BracketError, match="not ready"):
        play.record(final, 1)
    with pytest.raises(BracketError, match="not in this match"):
        play.record(first, 2)
    with pytest.raises(BracketError, match="more games"):
        play.record(first, 1, scores=(1, 2))
    play.record(first, 4, scores=(1, 2))
    assert play.states[first].scores == (1, 2)
    with pytest.raises(BracketError, match="not ready"):
        play.record(first, 1)


def test_recording_touches_only_the_matches_involved():
    play = Play(build("double_elimination", 64))
    first = find(play.bracket, Side.WINNERS, 1, 1)
    changed = play.record(first, 1)
    assert changed == [first, find(play.bracket, Side.WINNERS, 2, 1),
                       find(play.bracket, Side.LOSERS, 1, 1)]


def test_a_saved_bracket_resumes_where_it_stopped():
    bracket = build("double_elimination", 37, grand_final="reset")
    live, rng = Play(bracket), random.Random(7)
    for _ in range(30):
        match_id = live.ready()[0]
        live.record(match_id, rng.choice(live.states[match_id].slots))
    live.disqualify(5)
    saved = Play(bracket, copy.deepcopy(live.states), disqualified=live.disqualified)
    for play in (live, saved):
        _finish(play)
    assert saved.states == live.states and table(saved) == table(live)


def test_every_link_matches_the_slot_it_feeds():
    for fmt, options in [("single_elimination", {"third_place": True}),
                         ("double_elimination", {"grand_final": "reset"})]:
        for entrants in range(2, 70):
            matches = build(fmt, entrants, **options).matches
            for match in matches:
                for slot, source in enumerate(match.slots):
                    if source.kind in ("winner", "loser"):
                        feeder = matches[source.ref]
                        link = feeder.winner_to if source.kind == "winner" else feeder.loser_to
                        assert link == Link(match.id, slot)
                        assert feeder.id < match.id


def test_each_match_carries_its_best_of():
    best_of = BestOf(default=1, finals=5, rounds={"2": 3, "L1": 3})
    single = build("single_elimination", 8, third_place=True, best_of=best_of)
    assert {(m.side, m.round): m.best_of for m in single.matches} == {
        (Side.WINNERS, 1): 1, (Side.WINNERS, 2): 3, (Side.WINNERS, 3): 5,
        (Side.THIRD_PLACE, 1): 1,
    }
    double = build("double_elimination", 8, grand_final="reset", best_of=best_of)
    by_round = {(m.side, m.round): m.best_of for m in double.matches}
    assert by_round[(Side.LOSERS, 1)] == 3 and by_round[(Side.LOSERS, 2)] == 1
    assert by_round[(Side.WINNERS, 2)] == 3 and by_round[(Side.WINNERS, 3)] == 1
    assert by_round[(Side.GRAND_FINAL, 1)] == by_round[(Side.GRAND_FINAL, 2)] == 5
    with pytest.raises(BracketError):
        BestOf(default=0)
