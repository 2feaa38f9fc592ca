"""Known tables: first-round pairings and standings for N = 2..17, 32 and 64."""

from __future__ import annotations

import pytest

from app.brackets import build
from app.brackets.model import BracketError, Side
from app.brackets.seeding import bracket_size, first_round, seed_order
from app.brackets.simulate import coin, higher_seed, play_out
from app.brackets.standings import standings
from tests.unit.bracket_shapes import expected_places, places

SIZES = [*range(2, 18), 32, 64]

FIRST_ROUNDS = {
    2: [(1, 2)],
    3: [(1, None), (2, 3)],
    4: [(1, 4), (2, 3)],
    5: [(1, None), (4, 5), (3, None), (2, None)],
    8: [(1, 8), (4, 5), (3, 6), (2, 7)],
    16: [(1, 16), (8, 9), (5, 12), (4, 13), (6, 11), (3, 14), (7, 10), (2, 15)],
}

SINGLE = {
    2: [1, 2],
    3: [1, 2, 3],
    4: [1, 2, 3, 3],
    5: [1, 2, 3, 3, 5],
    8: [1, 2, 3, 3, 5, 5, 5, 5],
    16: [1, 2, 3, 3, 5, 5, 5, 5] + [9] * 8,
}
SINGLE_THIRD_PLACE = {
    2: [1, 2],
    3: [1, 2, 3],
    4: [1, 2, 3, 4],
    5: [1, 2, 3, 4, 5],
    8: [1, 2, 3, 4, 5, 5, 5, 5],
    16: [1, 2, 3, 4, 5, 5, 5, 5] + [9] * 8,
}
DOUBLE = {
    2: [1, 2],
    3: [1, 2, 3],
    4: [1, 2, 3, 4],
    5: [1, 2, 3, 4, 5],
    8: [1, 2, 3, 4, 5, 5, 7, 7],
    16: [1, 2, 3, 4, 5, 5, 7, 7, 9, 9, 9, 9, 13, 13, 13, 13],
}


@pytest.mark.parametrize("entrants", sorted(FIRST_ROUNDS))
def test_first_round_pairings_by_hand(entrants):
    assert first_round(entrants) == FIRST_ROUNDS[entrants]


@pytest.mark.parametrize("entrants", SIZES)
def test_first_round_follows_the_standard_rule(entrants):
    size = bracket_size(entrants)
    pairs = first_round(entrants)
    assert len(pairs) == size // 2
    byes = sorted(high for high, low in pairs if low is None)
    assert byes == list(range(1, size - entrants + 1)), "byes go to the top seeds"
    assert all(high + (low or size + 1 - high) == size + 1 for high, low in pairs)
    order = seed_order(size)
    assert order[0] == 1 and order[-1] == 2
    for sections in (2**j for j in range(1, size.bit_length())):
        width = size // sections
        where = {seed: slot // width for slot, seed in enumerate(order)}
        assert len({where[seed] for seed in range(1, sections + 1)}) == sections


@pytest.mark.parametrize("entrants", SIZES)
def test_with_higher_seeds_winning_each_round_pairs_seeds_summing_alike(entrants):
    size = bracket_size(entrants)
    play = play_out(build("single_elimination", entrants), higher_seed)
    for match, state in zip(play.matches, play.states, strict=True):
        if match.round > 1:
            assert sum(state.slots) == (size >> (match.round - 1)) + 1


@pytest.mark.parametrize(("table", "option"), [
    (SINGLE, ("single_elimination", {})),
    (SINGLE_THIRD_PLACE, ("single_elimination", {"third_place": True})),
    (DOUBLE, ("double_elimination", {"grand_final": "single"})),
    (DOUBLE, ("double_elimination", {"grand_final": "reset"})),
    (DOUBLE, ("double_elimination", {"grand_final": "none"})),
])
@pytest.mark.parametrize("entrants", SIZES)
def test_standings_table(table, option, entrants):
    fmt, kwargs = option
    play = play_out(build(fmt, entrants, **kwargs), coin(entrants))
    got = places(play)
    if entrants in table:
        assert got == table[entrants]
    assert got == expected_places(fmt, entrants, kwargs.get("third_place", False))


def test_a_third_place_match_needs_four_entrants():
    assert not any(m.side == Side.THIRD_PLACE
                   for m in build("single_elimination", 3, third_place=True).matches)
    third = [m for m in build("single_elimination", 4, third_place=True).matches
             if m.side == Side.THIRD_PLACE]
    assert [(s.kind, s.ref) for s in third[0].slots] == [("loser", 0), ("loser", 1)]


def test_no_bracket_for_fewer_than_two():
    with pytest.raises(BracketError):
        build("single_elimination", 1)
    with pytest.raises(BracketError):
        seed_order(12)


def test_double_elimination_of_eight_places_as_the_issue_says():
    play = play_out(build("double_elimination", 8), higher_seed)
    assert [(p.place, p.seeds) for p in standings(play)] == [
        (1, [1]), (2, [2]), (3, [3]), (4, [4]), (5, [5, 6]), (7, [7, 8]),
    ]
