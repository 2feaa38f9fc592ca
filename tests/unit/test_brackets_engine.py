"""Properties of single and double elimination for every size and any outcomes (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.brackets import build, double
from app.brackets.model import BYE, Side
from app.brackets.play import Outcome, Play, Status
from app.brackets.seeding import bracket_size
from app.brackets.simulate import coin, higher_seed, play_out
from app.brackets.standings import standings
from tests.unit.bracket_shapes import expected_places, places

OPTIONS = [
    ("single_elimination", {}),
    ("single_elimination", {"third_place": True}),
    ("double_elimination", {"grand_final": "none"}),
    ("double_elimination", {"grand_final": "single"}),
    ("double_elimination", {"grand_final": "reset"}),
]
sizes = st.integers(min_value=2, max_value=300)
options = st.sampled_from(OPTIONS)
rng_seeds = st.integers(min_value=0, max_value=2**32)


def check_finished(play: Play) -> None:
    assert play.finished()
    assert not play.ready()
    assert all(s.status != Status.WAITING for s in play.states)


def check_pairings(play: Play) -> None:
    """Nobody plays themself, nobody plays twice in a round, a bye never stands as ready."""
    seen: Counter = Counter()
    for match, state in zip(play.matches, play.states, strict=True):
        real = [e for e in state.slots if e not in (None, BYE)]
        assert len(real) == len(set(real)), f"match {match.id} pits an entrant against themself"
        seen.update((match.side, match.round, e) for e in real)
        if state.status == Status.READY:
            assert BYE not in state.slots
    assert max(seen.values(), default=1) == 1


def check_byes(play: Play) -> None:
    """Byes only where the format needs them: the first round (and losers rounds 1-2)."""
    allowed = {(Side.WINNERS, 1), (Side.LOSERS, 1), (Side.LOSERS, 2)}
    for match, state in zip(play.matches, play.states, strict=True):
        if BYE in state.slots:
            assert (match.side, match.round) in allowed, f"bye in {match.side} {match.round}"
    first = [s for m, s in zip(play.matches, play.states, strict=True)
             if m.side == Side.WINNERS and m.round == 1]
    assert sum(BYE in s.slots for s in first) == bracket_size(play.bracket.entrants) \
        - play.bracket.entrants


def losses(play: Play, *, skip: Side | None = None) -> Counter:
    count: Counter = Counter()
    for match, state in zip(play.matches, play.states, strict=True):
        if state.status == Status.COMPLETED and state.loser != BYE and match.side != skip:
            count[state.loser] += 1
    return count


def check_standings(play: Play, fmt: str, third_place: bool) -> None:
    table = standings(play)
    seeds = [s for p in table for s in p.seeds]
    assert sorted(seeds) == list(range(1, play.bracket.entrants + 1))
    assert len(table[0].seeds) == 1 and table[0].place == 1, "exactly one champion"
    assert places(play) == expected_places(fmt, play.bracket.entrants, third_place)


def play_and_check(entrants: int, option: tuple[str, dict], rng_seed: int) -> Play:
    fmt, kwargs = option
    play = play_out(build(fmt, entrants, **kwargs), coin(rng_seed))
    check_finished(play)
    check_pairings(play)
    check_byes(play)
    check_standings(play, fmt, kwargs.get("third_place", False))
    return play


@settings(max_examples=200, deadline=None)
@given(entrants=sizes, rng_seed=rng_seeds, third_place=st.booleans())
@example(entrants=300, rng_seed=1, third_place=True)
@example(entrants=257, rng_seed=2, third_place=False)
def test_single_elimination_everyone_but_the_champion_loses_once(entrants, rng_seed,
                                                                  third_place):
    option = ("single_elimination", {"third_place": third_place})
    play = play_and_check(entrants, option, rng_seed)
    champion = standings(play)[0].seeds[0]
    lost = losses(play, skip=Side.THIRD_PLACE)
    assert champion not in lost
    assert all(lost[seed] == 1 for seed in range(1, entrants + 1) if seed != champion)


@settings(max_examples=250, deadline=None)
@given(entrants=sizes, rng_seed=rng_seeds,
       mode=st.sampled_from(["none", "single", "reset"]))
@example(entrants=300, rng_seed=1, mode="reset")
@example(entrants=257, rng_seed=2, mode="none")
@example(entrants=129, rng_seed=3, mode="single")
def test_double_elimination_eliminates_after_two_losses(entrants, rng_seed, mode):
    play = play_and_check(entrants, ("double_elimination", {"grand_final": mode}), rng_seed)
    champion = standings(play)[0].seeds[0]
    lost = losses(play)
    assert lost[champion] <= 1
    assert all(1 <= lost[seed] <= 2 for seed in range(1, entrants + 1) if seed != champion)
    for match, state in zip(play.matches, play.states, strict=True):
        if match.side == Side.LOSERS and state.loser != BYE:
            assert lost[state.loser] == 2, "knocked out of the losers bracket after one loss"


@settings(max_examples=150, deadline=None)
@given(entrants=sizes, rng_seed=rng_seeds)
@example(entrants=256, rng_seed=1)
def test_no_losers_bracket_rematch_before_the_unavoidable_round(entrants, rng_seed):
    play = play_out(build("double_elimination", entrants), coin(rng_seed))
    first_allowed = unavoidable_rematch_round(bracket_size(entrants).bit_length() - 1)
    met = set()
    for match, state in zip(play.matches, play.states, strict=True):
        pair = frozenset(state.slots)
        if state.outcome != Outcome.PLAYED:
            continue
        if match.side == Side.LOSERS and match.round < first_allowed:
            assert pair not in met, f"rematch in losers round {match.round}"
        met.add(pair)


def unavoidable_rematch_round(rounds: int) -> int:
    """The first losers round where some rematch is possible whatever the drop order.

    A losers subtree at drop round t holds losers covering t·2^t first-round slots (2t·2^t
    after the next merge); beyond 2^rounds slots two of them must have met.
    """
    for t in range(2, rounds + 1):
        if t > 2 ** (rounds - t):
            return 2 * (t - 1)
        if t < rounds and t > 2 ** (rounds - t - 1):
            return 2 * t - 1
    return 2 * (rounds - 1)


def first_possible_rematch(entrants: int) -> int | None:
    """The first losers round where two entrants who met in the winners bracket can meet."""
    bracket = double.build(entrants)
    matches = bracket.matches
    above = {m.id: m.winner_to.match for m in matches
             if m.side == Side.WINNERS and m.winner_to and matches[m.winner_to.match].side
             == Side.WINNERS}
    came_from: dict[int, set[int]] = {}  # losers match -> winners matches its entrants lost in
    for match in matches:
        if match.side != Side.LOSERS:
            continue
        slots = [{s.ref} if s.kind == "loser" else came_from[s.ref] for s in match.slots]
        came_from[match.id] = slots[0] | slots[1]
        for mine, theirs in (slots, slots[::-1]):
            for lost_in in mine:
                ancestor = above.get(lost_in)
                while ancestor is not None:  # whoever lost there may have beaten them
                    if ancestor in theirs:
                        return match.round
                    ancestor = above.get(ancestor)
    return None


def test_drop_order_keeps_rematches_as_late_as_any_order_can_at_every_size():
    for rounds in range(2, 13):
        assert first_possible_rematch(2**rounds) == unavoidable_rematch_round(rounds), rounds


def test_drop_order_alternates_by_the_documented_rule():
    assert double.drop_order(8, 2) == [1, 0]  # reverse
    assert double.drop_order(16, 2) == [2, 3, 0, 1]  # halves swapped
    assert double.drop_order(32, 3) == [1, 0, 3, 2]  # neighbouring quarters swapped
    assert double.drop_order(64, 4) == [3, 2, 1, 0]  # halves and quarters swapped
    assert double.drop_order(16, 1) == list(range(8))  # round 1 drops in order


@settings(max_examples=150, deadline=None)
@given(entrants=sizes, option=options, rng_seed=rng_seeds)
@example(entrants=300, option=OPTIONS[4], rng_seed=5)
def test_forfeits_and_disqualifications_never_leave_a_bracket_stuck(entrants, option, rng_seed):
    fmt, kwargs = option
    play = Play(build(fmt, entrants, **kwargs))
    rng = random.Random(rng_seed)
    while ready := play.ready():
        for open_match in ready:  # a disqualified entrant never stands in an open match
            assert not set(play.states[open_match].slots) & play.disqualified
        match_id = rng.choice(ready)
        a, b = play.states[match_id].slots
        roll = rng.random()
        if roll < 0.05:
            play.disqualify(rng.choice([a, b]))
        elif roll < 0.1:
            play.double_forfeit(match_id)
        elif roll < 0.2:
            play.forfeit(match_id, rng.choice([a, b]))
        else:
            play.record(match_id, rng.choice([a, b]))
    check_finished(play)
    check_pairings(play)
    table = standings(play)
    assert sorted(s for p in table for s in p.seeds) == list(range(1, entrants + 1))
    if play.disqualified:
        assert set(table[-1].seeds) == play.disqualified


@settings(max_examples=80, deadline=None)
@given(entrants=sizes, option=options)
def test_when_the_higher_seed_always_wins_seeds_finish_in_order(entrants, option):
    fmt, kwargs = option
    play = play_out(build(fmt, entrants, **kwargs), higher_seed)
    table = standings(play)
    assert [s for p in table for s in p.seeds] == list(range(1, entrants + 1))
    assert table[0].seeds == [1]
