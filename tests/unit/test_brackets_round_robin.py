"""Round robin: schedules, snake groups, tie-breakers, playoffs from groups, the CLI."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.brackets import build, round_robin
from app.brackets.model import BestOf, BracketError, Side
from app.brackets.play import Play, Status
from app.brackets.seeding import bracket_size, first_round, seed_order
from app.brackets.simulate import coin, higher_seed, play_out, relabel
from app.brackets.standings import standings


@st.composite
def round_robins(draw: st.DrawFn, max_group: int = 40) -> tuple[int, int, int]:
    """(entrants, groups, cycles); groups of up to `max_group` keep random examples quick."""
    entrants = draw(st.integers(min_value=2, max_value=300))
    fewest = -(-entrants // max_group)
    groups = draw(st.integers(min_value=min(fewest, entrants // 2), max_value=entrants // 2))
    return entrants, max(groups, 1), draw(st.sampled_from([1, 2]))


def group_members(entrants: int, groups: int) -> list[set[int]]:
    return [set(members) for members in round_robin.snake(entrants, groups)]


def rounds_per_cycle(size: int) -> int:
    return size - 1 if size % 2 == 0 else size


# -- schedule ---------------------------------------------------------------------------------


def check_schedule(entrants: int, groups: int, cycles: int) -> None:
    bracket = build("round_robin", entrants, groups=groups, cycles=cycles,
                    best_of=BestOf(3, rounds={"2": 5}))
    members = group_members(entrants, groups)
    sizes = [len(m) for m in members]
    assert min(sizes) >= 2 and max(sizes) - min(sizes) <= 1
    assert set().union(*members) == set(range(1, entrants + 1))
    met: Counter = Counter()
    in_round: Counter = Counter()
    positions: dict[tuple[int, int], list[int]] = {}
    for index, match in enumerate(bracket.matches):
        assert match.id == index and match.side == Side.GROUP
        assert [s.kind for s in match.slots] == ["seed", "seed"], "no byes in round robin"
        a, b = (s.ref for s in match.slots)
        assert a != b and {a, b} <= members[match.group - 1]
        assert match.winner_to is None and match.loser_to is None
        assert match.best_of == (5 if match.round == 2 else 3)
        per_cycle = rounds_per_cycle(sizes[match.group - 1])
        assert 1 <= match.round <= cycles * per_cycle
        met[(frozenset((a, b)), (match.round - 1) // per_cycle)] += 1
        in_round.update((match.group, match.round, seed) for seed in (a, b))
        positions.setdefault((match.group, match.round), []).append(match.position)
    assert max(in_round.values()) == 1, "nobody plays twice in a round"
    for group in members:
        for pair in itertools.combinations(group, 2):
            assert all(met[(frozenset(pair), cycle)] == 1 for cycle in range(cycles))
    assert sum(met.values()) == len(bracket.matches)
    assert all(p == list(range(1, len(p) + 1)) for p in positions.values())
    keys = [(m.round, m.group) for m in bracket.matches]
    assert keys == sorted(keys), "round by round, every group's round before the next"
    assert all(s.status == Status.READY for s in Play(bracket).states)


@settings(max_examples=40, deadline=None)
@given(shape=round_robins(max_group=30))
@example(shape=(300, 1, 1))
@example(shape=(299, 1, 2))
@example(shape=(300, 150, 2))
@example(shape=(17, 8, 2))
def test_every_pair_in_a_group_meets_once_per_cycle(shape):
    check_schedule(*shape)


CIRCLE = {  # by hand: the top seed stays put; with an odd count the lowest seed rests first
    4: [[(1, 4), (2, 3)], [(3, 1), (4, 2)], [(1, 2), (3, 4)]],
    5: [[(1, 4), (2, 3)], [(5, 3), (1, 2)], [(4, 2), (5, 1)], [(3, 1), (4, 5)],
        [(2, 5), (3, 4)]],
    6: [[(1, 6), (2, 5), (3, 4)], [(5, 1), (6, 4), (2, 3)], [(1, 4), (5, 3), (6, 2)],
        [(3, 1), (4, 2), (5, 6)], [(1, 2), (3, 6), (4, 5)]],
}


@pytest.mark.parametrize("entrants", sorted(CIRCLE))
def test_circle_method_rounds_by_hand(entrants):
    assert round_robin.circle(range(1, entrants + 1)) == CIRCLE[entrants]


@pytest.mark.parametrize("entrants", range(2, 18))
def test_circle_method_structure(entrants):
    rounds = round_robin.circle(range(1, entrants + 1))
    assert len(rounds) == rounds_per_cycle(entrants)
    even = entrants - entrants % 2
    assert rounds[0] == [(s, even + 1 - s) for s in range(1, even // 2 + 1)]
    resting = [set(range(1, entrants + 1)) - {s for pair in r for s in pair} for r in rounds]
    if entrants % 2:
        assert resting == [{s} for s in range(entrants, 0, -1)], "each rests once, lowest first"
    else:
        assert not any(resting)
    slot_balance = Counter()
    for pairs in rounds:
        for a, b in pairs:
            slot_balance[a] += 1
            slot_balance[b] -= 1
    assert max(map(abs, slot_balance.values())) <= 1, "slot 0 and slot 1 within one"


def test_double_round_robin_repeats_with_slots_swapped():
    bracket = build("round_robin", 5, cycles=2)
    pairs: dict[int, list[tuple[int, int]]] = {}
    for match in bracket.matches:
        pairs.setdefault(match.round, []).append(tuple(s.ref for s in match.slots))
    assert sorted(pairs) == list(range(1, 11))
    assert all(pairs[r + 5] == [(b, a) for a, b in pairs[r]] for r in range(1, 6))


def test_snake_seeding():
    assert round_robin.snake(8, 2) == [[1, 4, 5, 8], [2, 3, 6, 7]]
    assert round_robin.snake(10, 3) == [[1, 6, 7], [2, 5, 8], [3, 4, 9, 10]]
    bracket = build("round_robin", 8, groups=2)
    seen = {g: set() for g in (1, 2)}
    for match in bracket.matches:
        seen[match.group].update(s.ref for s in match.slots)
    assert seen == {1: {1, 4, 5, 8}, 2: {2, 3, 6, 7}}


@pytest.mark.parametrize(("entrants", "groups", "cycles", "words"), [
    (1, 1, 1, "at least 2 entrants"),
    (9, 5, 1, "use at most 4 groups"),
    (8, 0, 1, "at least one group"),
    (8, 1, 3, "twice"),
])
def test_impossible_round_robins_are_refused(entrants, groups, cycles, words):
    with pytest.raises(BracketError, match=words):
        build("round_robin", entrants, groups=groups, cycles=cycles)


# -- playing ----------------------------------------------------------------------------------


def play_randomly(entrants: int, groups: int, cycles: int, rng: random.Random) -> Play:
    """Any outcomes in any order: scores or none, forfeits, double forfeits, a few DQs."""
    play = Play(build("round_robin", entrants, groups=groups, cycles=cycles,
                      best_of=BestOf(rng.choice([1, 3, 5]))))
    ids = list(range(len(play.states)))
    rng.shuffle(ids)
    disqualify_at = {rng.randrange(len(ids)) for _ in range(rng.choice([0, 0, 1, 2]))}
    for step, match_id in enumerate(ids):
        state = play.states[match_id]
        if step in disqualify_at and len(play.disqualified) < entrants - 1:
            play.disqualify(rng.choice(sorted(set(range(1, entrants + 1)) - play.disqualified)))
        if state.status != Status.READY:  # a disqualification settled it
            continue
        a, b = state.slots
        roll = rng.random()
        if roll < 0.03:
            play.double_forfeit(match_id)
        elif roll < 0.08:
            play.forfeit(match_id, rng.choice([a, b]))
        elif roll < 0.2:
            play.record(match_id, rng.choice([a, b]))
        else:
            best_of = play.matches[match_id].best_of
            won, lost = best_of // 2 + 1, rng.randint(0, best_of // 2)
            winner = rng.choice([a, b])
            play.record(match_id, winner, (won, lost) if winner == a else (lost, won))
    return play


def check_tables(play: Play) -> None:
    tables = round_robin.group_tables(play)
    records = round_robin.records(play)
    members = round_robin.snake(play.bracket.entrants, play.bracket.groups)
    for table, group in zip(tables, members, strict=True):
        assert sorted(table) == group
        active = [s for s in table if s not in play.disqualified]
        assert table[len(active):] == sorted(set(group) & play.disqualified)
        wins = [records[s].wins for s in active]
        assert wins == sorted(wins, reverse=True)


@settings(max_examples=60, deadline=None)
@given(shape=round_robins(max_group=30), rng_seed=st.integers(0, 2**32))
@example(shape=(300, 1, 1), rng_seed=1)
@example(shape=(150, 1, 2), rng_seed=2)
@example(shape=(2, 1, 1), rng_seed=3)
def test_any_outcomes_finish_and_rank_everyone(shape, rng_seed):
    entrants, groups, _ = shape
    play = play_randomly(*shape, random.Random(rng_seed))
    assert play.finished() and not play.ready()
    check_tables(play)
    table = standings(play)
    assert sorted(s for p in table for s in p.seeds) == list(range(1, entrants + 1))
    if play.disqualified:
        assert set(table[-1].seeds) == play.disqualified, "disqualified entrants share last"
    if groups == 1:
        assert table[0].place == 1 and len(table[0].seeds) == 1, "exactly one champion"
        assert all(len(p.seeds) == 1 for p in table if not set(p.seeds) & play.disqualified)
    else:
        firsts = [t[0] for t in round_robin.group_tables(play) if t[0] not in play.disqualified]
        assert table[0].seeds == sorted(firsts), "group winners share first place"


@settings(max_examples=40, deadline=None)
@given(shape=round_robins(max_group=20), rng_seed=st.integers(0, 2**32),
       advance=st.integers(1, 4))
@example(shape=(300, 150, 1), rng_seed=1, advance=2)
@example(shape=(64, 8, 1), rng_seed=2, advance=4)
def test_groups_then_playoff_crown_one_champion(shape, rng_seed, advance):
    entrants, groups, cycles = shape
    rule = coin(rng_seed)
    group_play = play_out(build("round_robin", entrants, groups=groups, cycles=cycles), rule)
    tables = round_robin.group_tables(group_play)
    advance = min(advance if groups > 1 else max(advance, 2), *map(len, tables))
    order = round_robin.playoff_order(tables, advance)
    assert sorted(order) == sorted(s for t in tables for s in t[:advance])
    playoff = play_out(build("single_elimination", len(order)), relabel(rule, order))
    table = round_robin.playoff_standings(group_play, playoff, order)
    assert sorted(s for p in table for s in p.seeds) == list(range(1, entrants + 1))
    assert table[0].place == 1 and len(table[0].seeds) == 1
    in_playoff = [s for p in table for s in p.seeds][:len(order)]
    assert set(in_playoff) == set(order), "every playoff entrant above everyone out in groups"


@settings(max_examples=40, deadline=None)
@given(shape=round_robins(max_group=20))
@example(shape=(300, 1, 1))
def test_when_the_higher_seed_always_wins_seeds_finish_in_order(shape):
    entrants, groups, cycles = shape
    play = play_out(build("round_robin", entrants, groups=groups, cycles=cycles), higher_seed)
    assert round_robin.group_tables(play) == round_robin.snake(entrants, groups)
    table = standings(play)
    assert [s for p in table for s in p.seeds] == list(range(1, entrants + 1))
    assert table[0].seeds == list(range(1, groups + 1))
    assert not round_robin.tie_breaks(play)


def test_random_scores_make_game_difference_count():
    play = play_out(build("round_robin", 6, best_of=BestOf(5)), coin(7))
    scores = [state.scores for state in play.states]
    assert all(max(s) == 3 and min(s) <= 2 for s in scores)
    assert len({min(s) for s in scores}) > 1, "losers take a varying number of games"
    assert play_out(build("round_robin", 6, best_of=BestOf(5)), coin(7)).states == play.states


# -- standings --------------------------------------------------------------------------------


def play_group(entrants: int, results: list[tuple[int, int, int | None, int | None]],
               best_of: int = 1) -> Play:
    """One group where each (winner, loser, games won, games lost) is recorded as given."""
    play = Play(build("round_robin", entrants, best_of=BestOf(best_of)))
    by_pair = {frozenset((w, lo)): (w, won, lost) for w, lo, won, lost in results}
    assert len(by_pair) == entrants * (entrants - 1) // 2
    for match_id, state in enumerate(play.states):
        winner, won, lost = by_pair[frozenset(state.slots)]
        scores = None if won is None else (won, lost) if state.slots[0] == winner else (lost, won)
        play.record(match_id, winner, scores)
    return play


def test_three_way_tie_broken_by_head_to_head_against_game_difference():
    # S5 beat S4 and S2, S4 beat S2: head-to-head orders them 5, 4, 2, though game
    # difference would say 2 (+2), 4 (-1), 5 (-2).
    play = play_group(5, [
        (5, 4, 2, 1), (5, 2, 2, 1), (4, 2, 2, 1),
        (1, 5, 2, 0), (3, 5, 2, 0), (1, 4, 2, 0), (4, 3, 2, 1),
        (2, 1, 2, 0), (2, 3, 2, 0), (1, 3, 2, 0),
    ], best_of=3)
    records = round_robin.records(play)
    assert [records[s].difference for s in (5, 4, 2)] == [-2, -1, 2]
    assert round_robin.group_tables(play) == [[1, 5, 4, 2, 3]]
    assert round_robin.tie_breaks(play) == {5: "ahead of S4 on head-to-head",
                                            4: "ahead of S2 on head-to-head"}


def test_two_way_ties_go_to_the_winner_of_their_match_whatever_the_games():
    play = play_group(4, [
        (3, 1, 2, 1), (3, 4, 2, 1), (1, 4, 2, 0), (1, 2, 2, 0), (4, 2, 2, 1), (2, 3, 2, 0),
    ], best_of=3)
    records = round_robin.records(play)
    assert records[1].difference > records[3].difference
    assert records[2].difference > records[4].difference
    assert [p.seeds for p in standings(play)] == [[3], [1], [4], [2]]
    assert round_robin.tie_breaks(play) == {3: "ahead of S1 on head-to-head",
                                            4: "ahead of S2 on head-to-head"}


def test_head_to_head_starts_again_within_each_subset_it_leaves_tied():
    # S1..S4 on 3 wins each; among them S4 and S3 won 2, S2 and S1 won 1 (S4 beat S3, S3 beat
    # S2 and S1, S2 beat S1, S1 beat S4). Each pair left level is then decided by its own
    # match, not by seed.
    play = play_group(6, [
        (4, 3, None, None), (4, 2, None, None), (3, 2, None, None), (3, 1, None, None),
        (2, 1, None, None), (1, 4, None, None),
        (4, 5, None, None), (6, 4, None, None), (3, 6, None, None), (5, 3, None, None),
        (2, 5, None, None), (2, 6, None, None), (1, 5, None, None), (1, 6, None, None),
        (5, 6, None, None),
    ])
    assert round_robin.group_tables(play) == [[4, 3, 2, 1, 5, 6]]
    assert round_robin.tie_breaks(play) == {4: "ahead of S3 on head-to-head",
                                            3: "ahead of S2 on head-to-head",
                                            2: "ahead of S1 on head-to-head"}


def test_circular_tie_falls_to_game_difference():
    play = play_group(3, [(3, 1, 2, 0), (1, 2, 2, 1), (2, 3, 2, 1)], best_of=3)
    assert round_robin.group_tables(play) == [[3, 2, 1]]
    assert round_robin.tie_breaks(play) == {3: "ahead of S2 on game difference",
                                            2: "ahead of S1 on game difference"}


def test_circular_tie_then_games_won_then_seed():
    # S3 beat S4, S4 beat S2, S2 beat S3; all three beat S1. All on +2 games; S3 won 7 games,
    # S4 and S2 six each, so S2 is ahead of S4 on seed even though S4 beat S2: once head-to-head
    # cannot split a tie, the overall criteria decide (as in UEFA's rules).
    play = play_group(4, [
        (3, 4, 3, 0), (4, 2, 3, 0), (2, 3, 3, 1), (3, 1, 3, 2), (4, 1, 3, 1), (2, 1, 3, 0),
    ], best_of=5)
    records = round_robin.records(play)
    assert [(records[s].difference, records[s].won) for s in (3, 2, 4)] == [(2, 7), (2, 6),
                                                                             (2, 6)]
    assert round_robin.group_tables(play) == [[3, 2, 4, 1]]
    assert round_robin.tie_breaks(play) == {3: "ahead of S2 on games won",
                                            2: "ahead of S4 on seed"}


def test_results_without_scores_count_as_a_clean_sweep():
    play = Play(build("round_robin", 3, best_of=BestOf(3)))
    match = {frozenset(s.slots): i for i, s in enumerate(play.states)}
    play.forfeit(match[frozenset((1, 2))], 2)
    two_three = match[frozenset((2, 3))]
    play.record(two_three, 2, (2, 1) if play.states[two_three].slots[0] == 2 else (1, 2))
    play.record(match[frozenset((1, 3))], 3)
    records = round_robin.records(play)
    assert [(records[s].won, records[s].lost) for s in (1, 2, 3)] == [(2, 2), (2, 3), (3, 2)]
    assert round_robin.group_tables(play) == [[3, 1, 2]]


def test_a_double_forfeit_is_a_loss_for_both():
    play = Play(build("round_robin", 3, best_of=BestOf(3)))
    match = {frozenset(s.slots): i for i, s in enumerate(play.states)}
    play.double_forfeit(match[frozenset((1, 2))])
    play.record(match[frozenset((1, 3))], 3)
    play.record(match[frozenset((2, 3))], 3)
    records = round_robin.records(play)
    assert [(records[s].wins, records[s].won, records[s].lost) for s in (1, 2, 3)] == [
        (0, 0, 4), (0, 0, 4), (2, 4, 0)]
    assert [p.seeds for p in standings(play)] == [[3], [1], [2]]


def test_disqualified_entrants_go_last_and_their_results_stand():
    play = Play(build("round_robin", 4))
    first = [i for i, m in enumerate(play.matches) if m.round == 1]
    for match_id in first:  # 1 beats 4, 2 beats 3
        play.record(match_id, min(play.states[match_id].slots))
    play.disqualify(1)
    assert all(s.status == Status.READY for s in play.states if 1 not in s.slots
               and s.status != Status.COMPLETED)
    for match_id in play.ready():
        play.record(match_id, min(play.states[match_id].slots))
    assert round_robin.records(play)[3].wins == 2  # a walkover over S1 and a win over S4
    assert [(p.place, p.seeds) for p in standings(play)] == [(1, [2]), (2, [3]), (3, [4]),
                                                             (4, [1])]
    double = Play(build("round_robin", 6), disqualified=[2, 5])
    assert all(s.status in (Status.READY, Status.COMPLETED) for s in double.states)
    for match_id in double.ready():
        double.record(match_id, min(double.states[match_id].slots))
    assert [(p.place, p.seeds) for p in standings(double)] == [
        (1, [1]), (2, [3]), (3, [4]), (4, [6]), (5, [2, 5])]


def test_groups_alone_share_places_by_group_position():
    play = play_out(build("round_robin", 18, groups=4), higher_seed)
    assert [(p.place, p.seeds) for p in standings(play)] == [
        (1, [1, 2, 3, 4]), (5, [5, 6, 7, 8]), (9, [9, 10, 11, 12]), (13, [13, 14, 15, 16]),
        (17, [17, 18])]


# -- playoffs ---------------------------------------------------------------------------------


def first_round_group_mates(tables: list[list[int]], order: list[int]) -> int:
    group = {seed: g for g, table in enumerate(tables) for seed in table}
    return sum(1 for high, low in first_round(len(order))
               if low is not None and group[order[high - 1]] == group[order[low - 1]])


def meeting_rounds(tables: list[list[int]], order: list[int]) -> list[int]:
    """How many pairs of group-mates could first meet in each playoff round (round 1 first)."""
    slot = {seed: i for i, seed in enumerate(seed_order(bracket_size(len(order))))}
    playoff_seed = {entrant: k for k, entrant in enumerate(order, start=1)}
    count = Counter()
    for table in tables:
        for a, b in itertools.combinations((s for s in table if s in playoff_seed), 2):
            count[(slot[playoff_seed[a]] ^ slot[playoff_seed[b]]).bit_length()] += 1
    return [count[r] for r in range(1, bracket_size(len(order)).bit_length())]


def test_two_groups_of_two_cross_over():
    tables = [[1, 4, 5, 8], [2, 3, 6, 7]]
    order = round_robin.playoff_order(tables, 2)
    assert order == [1, 2, 4, 3]  # A1 v B2 (S1 v S3), B1 v A2 (S2 v S4)
    assert [(order[a - 1], order[b - 1]) for a, b in first_round(4)] == [(1, 3), (2, 4)]


@pytest.mark.parametrize(("groups", "advance"), [
    (g, k) for g in range(1, 9) for k in range(1, 5) if g * k >= 2])
def test_playoff_order_keeps_group_mates_apart_in_the_first_round(groups, advance):
    tables = [[g + 1 + groups * p for p in range(advance + 1)] for g in range(groups)]
    order = round_robin.playoff_order(tables, advance)
    assert order[:groups] == [t[0] for t in tables], "group winners first, by group number"
    for pot in range(advance):
        assert sorted(order[pot * groups:(pot + 1) * groups]) == sorted(t[pot] for t in tables)
    mates = first_round_group_mates(tables, order)
    if groups >= 2:
        assert mates == 0
    else:  # a single group: every real first-round pair is unavoidably two group-mates
        assert mates == sum(1 for _, low in first_round(advance) if low is not None)
    if advance == 2 and groups >= 2:
        rounds = meeting_rounds(tables, order)
        assert rounds[:-1] == [0] * (len(rounds) - 1), "group-mates meet only in the final"


@pytest.mark.parametrize(("groups", "advance"),
                         [(2, 2), (2, 3), (3, 2), (3, 3), (4, 2), (4, 3), (5, 2)])
def test_no_other_pot_order_makes_group_mates_meet_later(groups, advance):
    tables = [[g + 1 + groups * p for p in range(advance)] for g in range(groups)]
    got = meeting_rounds(tables, round_robin.playoff_order(tables, advance))
    best = min(
        meeting_rounds(tables, [t[0] for t in tables] + [tables[g][pot + 1] for pot, perm
                                                         in enumerate(perms) for g in perm])
        for perms in itertools.product(itertools.permutations(range(groups)),
                                       repeat=advance - 1)
    )
    assert got == best


def test_playoff_order_refuses_impossible_sizes():
    with pytest.raises(BracketError):
        round_robin.playoff_order([[1, 2], [3, 4]], 3)
    with pytest.raises(BracketError):
        round_robin.playoff_order([[1, 2]], 1)


def test_playoff_standings_combine_both_stages():
    group_play = play_out(build("round_robin", 18, groups=4), higher_seed)
    order = round_robin.playoff_order(round_robin.group_tables(group_play), 2)
    playoff = play_out(build("single_elimination", 8), relabel(higher_seed, order))
    assert [(p.place, p.seeds) for p in
            round_robin.playoff_standings(group_play, playoff, order)] == [
        (1, [1]), (2, [2]), (3, [3, 4]), (5, [5, 6, 7, 8]), (9, [9, 10, 11, 12]),
        (13, [13, 14, 15, 16]), (17, [17, 18])]
    disqualified = Play(playoff.bracket, disqualified=[order.index(2) + 1])
    for match_id in range(len(disqualified.states)):
        if disqualified.states[match_id].status == Status.READY:
            a, b = disqualified.states[match_id].slots
            disqualified.record(match_id, order.index(min(order[a - 1], order[b - 1])) + 1)
    table = round_robin.playoff_standings(group_play, disqualified, order)
    assert table[-1].seeds == [2] and table[0].seeds == [1]


# -- CLI --------------------------------------------------------------------------------------


def simulate(runner, *args: str) -> dict:
    result = runner.invoke(args=["bracket", "simulate", "--format", "round_robin", *args,
                                 "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_single_group(runner):
    document = simulate(runner, "--entrants", "8", "--higher-seed-wins")
    assert (document["format"], document["entrants"]) == ("round_robin", 8)
    assert len(document["matches"]) == 28
    assert document["matches"][0] == {
        "id": 0, "side": "group", "group": 1, "round": 1, "position": 1, "best_of": 1,
        "slots": [{"seed": 1}, {"seed": 8}], "winner_seed": 1}
    assert document["standings"] == [{"place": p, "seeds": [p]} for p in range(1, 9)]
    twice = simulate(runner, "--entrants", "5", "--cycles", "2", "--random-results", "3")
    assert len(twice["matches"]) == 20
    assert twice == simulate(runner, "--entrants", "5", "--cycles", "2", "--random-results", "3")


def test_cli_groups_then_playoff(runner):
    document = simulate(runner, "--entrants", "8", "--groups", "2")
    matches = document["matches"]
    assert [m["id"] for m in matches] == list(range(15))
    assert [m["side"] for m in matches] == ["group"] * 12 + ["winners"] * 3
    assert {m["group"] for m in matches[:12]} == {1, 2}
    assert [m["slots"] for m in matches[12:14]] == [[{"seed": 1}, {"seed": 3}],
                                                    [{"seed": 2}, {"seed": 4}]]
    assert matches[14]["slots"] == [{"seed": 1}, {"seed": 2}] and matches[14]["winner_seed"] == 1
    assert document["standings"] == [
        {"place": 1, "seeds": [1]}, {"place": 2, "seeds": [2]}, {"place": 3, "seeds": [3, 4]},
        {"place": 5, "seeds": [5, 6]}, {"place": 7, "seeds": [7, 8]}]


def test_cli_random_groups_with_capped_advance(runner):
    document = simulate(runner, "--entrants", "11", "--groups", "3", "--advance", "9",
                        "--random-results", "5")
    group_matches = [m for m in document["matches"] if m["side"] == "group"]
    playoff = [m for m in document["matches"] if m["side"] == "winners"]
    assert len(group_matches) == 3 + 6 + 6  # groups of 3, 4, 4
    assert len({m["id"] for m in document["matches"]}) == len(document["matches"])
    entrants = {s["seed"] for m in playoff for s in m["slots"] if "seed" in s}
    assert len(entrants) == 9, "three from each group: the smallest group's size"
    assert sorted(s for p in document["standings"] for s in p["seeds"]) == list(range(1, 12))
    assert len(document["standings"][0]["seeds"]) == 1


def test_cli_refuses_too_many_groups(runner):
    result = runner.invoke(args=["bracket", "simulate", "--format", "round_robin",
                                 "--entrants", "9", "--groups", "5"])
    assert result.exit_code == 2 and "at most 4 groups" in result.output
