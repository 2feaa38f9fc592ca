"""Round robin: groups with snake seeding, circle-method rounds, standings with tie-breakers.

Groups. Seeds are dealt to the groups in a snake (seeds 1..G to groups 1..G, seeds G+1..2G to
groups G..1, and so on), so each group gets a fair share of strong and weak seeds and group
sizes differ by at most one. Every group needs at least 2 entrants.

Schedule. The circle method: one entrant stays put while the others rotate one place a round,
so each round pairs everybody once and every pair meets exactly once per cycle. A group with
an odd count gets a rest in each round (its resting entrant has no match: round robin makes
no bye matches). A double round robin repeats the pairings with the slots swapped, its rounds
numbered on after the first cycle. Matches are listed round by round (every group's round 1,
then round 2, ...), all with seeds in both slots, so every match is ready from the start.

Standings. Within a group: match wins; then, among entrants level on wins, head-to-head (the
mini-table of the matches among exactly those entrants) — when it splits them, each subset
still level starts again from head-to-head among its own members; when head-to-head cannot
split a set, game difference, then games won, then the lower seed (as UEFA does, the overall
criteria never hand back to head-to-head). Games come from the recorded scores; a match
completed without scores (a forfeit, a walkover after a disqualification, or a result entered
without scores) counts as a clean sweep, best_of//2+1 games to 0, for its winner, and a
double forfeit as a loss by that margin for both. Results against a disqualified entrant
stand; disqualified entrants themselves go last.

Playoffs. `playoff_order` turns the group tables into the seed order of a single-elimination
playoff, keeping group-mates apart; `playoff_standings` ranks the whole event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from app.brackets import standings as ranking
from app.brackets.model import BYE, BestOf, Bracket, BracketError, Format, Match, Side, Source
from app.brackets.play import MatchState, Outcome, Play, Status
from app.brackets.seeding import bracket_size, first_round, seed_order
from app.brackets.standings import DISQUALIFIED, Key, Place, rank

Pairing = tuple[int, int]


# -- structure --------------------------------------------------------------------------------


def build(entrants: int, *, groups: int = 1, cycles: int = 1,
          best_of: BestOf | None = None) -> Bracket:
    """A round robin of seeds 1..`entrants` in `groups` groups, played `cycles` times (1 or 2)."""
    _check(entrants, groups, cycles)
    best_of = best_of or BestOf()
    schedules = [schedule(members, cycles) for members in snake(entrants, groups)]
    matches: list[Match] = []
    for round_ in range(1, max(map(len, schedules)) + 1):
        for group, rounds in enumerate(schedules, start=1):
            pairs = rounds[round_ - 1] if round_ <= len(rounds) else []
            for position, (a, b) in enumerate(pairs, start=1):
                matches.append(Match(len(matches), Side.GROUP, round_, position,
                                     best_of.of(Side.GROUP, round_),
                                     (Source("seed", a), Source("seed", b)), group=group))
    return Bracket(Format.ROUND_ROBIN, entrants, matches, groups=groups, cycles=cycles)


def _check(entrants: int, groups: int, cycles: int) -> None:
    if entrants < 2:
        raise BracketError("a round robin needs at least 2 entrants")
    if groups < 1:
        raise BracketError("a round robin needs at least one group")
    if entrants // groups < 2:
        raise BracketError(f"{groups} groups of {entrants} entrants would leave a group with "
                           f"fewer than 2 entrants: use at most {entrants // 2} groups")
    if cycles not in (1, 2):
        raise BracketError("a round robin is played once (cycles=1) or twice (cycles=2)")


def snake(entrants: int, groups: int) -> list[list[int]]:
    """Each group's seeds, in seed order, dealt in a snake across the groups."""
    members: list[list[int]] = [[] for _ in range(groups)]
    for index in range(entrants):
        row, column = divmod(index, groups)
        members[column if row % 2 == 0 else groups - 1 - column].append(index + 1)
    return members


def circle(members: Sequence[int]) -> list[list[Pairing]]:
    """One cycle of rounds for one group: each round's pairs as (slot 0, slot 1).

    The top seed stays put and plays the bottom seed first (1 v n, 2 v n-1, ...). With an odd
    count a rest takes the fixed place instead, so the lowest seed rests first. The fixed
    entrant changes slots every round, which keeps everyone's slot 0 / slot 1 count within one.
    """
    lineup: list[int | None] = list(members)
    if len(lineup) % 2:
        lineup.insert(0, None)
    size = len(lineup)
    rounds = []
    for round_ in range(size - 1):
        pairs = [(lineup[i], lineup[size - 1 - i]) for i in range(size // 2)]
        if round_ % 2:
            pairs[0] = pairs[0][::-1]
        rounds.append([(a, b) for a, b in pairs if a is not None and b is not None])
        lineup = [lineup[0], lineup[-1], *lineup[1:-1]]
    return rounds  # type: ignore[return-value]


def schedule(members: Sequence[int], cycles: int = 1) -> list[list[Pairing]]:
    """All rounds for one group: the circle, then (double round robin) again with slots swapped."""
    once = circle(members)
    return once + [[(b, a) for a, b in pairs] for pairs in once] * (cycles - 1)


# -- group tables -----------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """One entrant's results so far: match wins, games for and against, whom they beat."""

    wins: int = 0
    won: int = 0
    lost: int = 0
    beat: Counter[int] = field(default_factory=Counter)

    @property
    def difference(self) -> int:
        return self.won - self.lost


def records(play: Play) -> dict[int, Record]:
    """Every entrant's record from the completed matches."""
    table = {seed: Record() for seed in range(1, play.bracket.entrants + 1)}
    for match, state in zip(play.matches, play.states, strict=True):
        if state.status == Status.COMPLETED:
            _tally(table, match, state)
    return table


def _tally(table: dict[int, Record], match: Match, state: MatchState) -> None:
    sweep = match.best_of // 2 + 1
    a, b = state.slots
    if state.outcome == Outcome.DOUBLE_FORFEIT:
        for seed in (a, b):
            table[seed].lost += sweep  # type: ignore[index]
        return
    if state.winner == BYE:  # two entrants disqualified before the start: nobody played
        return
    if state.scores is not None:
        games = state.scores
    else:
        games = (sweep, 0) if state.winner == a else (0, sweep)
    for seed, mine, theirs in ((a, *games), (b, *games[::-1])):
        if seed != BYE:  # a bye stands for an entrant disqualified before the start
            table[seed].won += mine  # type: ignore[index]
            table[seed].lost += theirs  # type: ignore[index]
    table[state.winner].wins += 1  # type: ignore[index]
    table[state.winner].beat[state.loser] += 1  # type: ignore[index]


def group_tables(play: Play) -> list[list[int]]:
    """Each group's seeds in standing order (ties fully broken, disqualified entrants last)."""
    return [order for order, _ in _tables(play)]


def tie_breaks(play: Play) -> dict[int, str]:
    """For each entrant placed above someone level on match wins: why (for the UI)."""
    reasons: dict[int, str] = {}
    for _, why in _tables(play):
        reasons.update(why)
    return reasons


def standings(play: Play) -> list[Place]:
    """Places by group position: one place each with one group, shared across groups."""
    keys: dict[int, Key] = {}
    for table in group_tables(play):
        _rank_by_position(keys, table, play.disqualified)
    return rank(keys)


def _rank_by_position(keys: dict[int, Key], table: list[int], disqualified: set[int],
                      skip: set[int] | frozenset[int] = frozenset()) -> None:
    position = 0
    for seed in table:
        if seed in disqualified:
            keys[seed] = DISQUALIFIED
            continue
        position += 1
        if seed not in skip:
            keys[seed] = (1, -position)


def _tables(play: Play) -> list[tuple[list[int], dict[int, str]]]:
    table = records(play)
    tables = []
    for members in snake(play.bracket.entrants, play.bracket.groups):
        active = [seed for seed in members if seed not in play.disqualified]
        reasons: dict[int, str] = {}
        order = [seed for level in _levels(active, lambda s: table[s].wins)
                 for seed in _break(level, table, reasons)]
        tables.append((order + [s for s in members if s in play.disqualified], reasons))
    return tables


def _levels(seeds: list[int], score: Callable[[int], int]) -> list[list[int]]:
    """`seeds` split into runs of equal `score`, best first, each run in seed order."""
    levels: dict[int, list[int]] = {}
    for seed in sorted(seeds):
        levels.setdefault(score(seed), []).append(seed)
    return [levels[value] for value in sorted(levels, reverse=True)]


def _break(tied: list[int], table: dict[int, Record], reasons: dict[int, str]) -> list[int]:
    """Order entrants level on match wins: head-to-head first, recursively; then games, seed."""
    if len(tied) == 1:
        return tied
    among = set(tied)
    levels = _levels(tied, lambda s: sum(table[s].beat[t] for t in among))
    if len(levels) == 1:
        return _by_games(tied, table, reasons)
    order: list[int] = []
    for level in levels:
        ranked = _break(level, table, reasons)
        if order:
            reasons[order[-1]] = f"ahead of S{ranked[0]} on head-to-head"
        order += ranked
    return order


def _by_games(tied: list[int], table: dict[int, Record], reasons: dict[int, str]) -> list[int]:
    def key(seed: int) -> tuple[int, int, int]:
        return (-table[seed].difference, -table[seed].won, seed)

    order = sorted(tied, key=key)
    for above, below in pairwise(order):
        rule = next(name for name, x, y in zip(("game difference", "games won", "seed"),
                                               key(above), key(below), strict=True) if x != y)
        reasons[above] = f"ahead of S{below} on {rule}"
    return order


# -- playoffs ---------------------------------------------------------------------------------


def playoff_order(tables: list[list[int]], advance: int) -> list[int]:
    """The top `advance` of each group, as the seed order of a single-elimination playoff.

    Playoff seeds go by pot: the group winners (by group number), then the runners-up, and so
    on. Within each later pot the groups are ordered so that no first-round pair (standard
    seeding, `seeding.first_round`) holds two entrants of one group. That is always possible
    with two groups or more: each slot of a pot faces at most one already-placed entrant, so it
    rules out at most one group, and the one case a pot cannot be filled — all of its G slots
    ruling out the same group — would need G partners from G different earlier pots, while the
    partners of a pot's G consecutive seeds are G consecutive seeds, which span at most two
    pots (and for G = 2 always lie in a single pot). Then, swapping groups within a pot while
    that helps, it lets group-mates meet as late as it can (fewer in round 2, then round 3,
    ...; as few as any order of the pots allows in every case the tests try by brute force):
    with two advancing from each group, group-mates meet only in the final. The group winners'
    pot keeps group order.

    A disqualified entrant still among the top `advance` keeps their playoff seed: start the
    playoff's `Play` with them disqualified, so their opponents get walkovers.
    """
    if not tables or not 1 <= advance <= min(map(len, tables)):
        raise BracketError("each group can send between 1 and its size to the playoffs")
    if len(tables) * advance < 2:
        raise BracketError("a playoff needs at least 2 entrants")
    count = len(tables)
    partner: dict[int, int | None] = {}
    for high, low in first_round(count * advance):
        partner[high] = low
        if low is not None:
            partner[low] = high
    groups: list[int] = list(range(count))  # the group of each playoff seed, by index
    for _ in range(1, advance):
        placed = len(groups)
        facing = [partner[seed] for seed in range(placed + 1, placed + count + 1)]
        groups += _fill_pot([groups[other - 1] if other is not None and other <= placed
                             else None for other in facing])
    _spread(groups, count)
    return [tables[group][index // count] for index, group in enumerate(groups)]


def _fill_pot(forbidden: list[int | None]) -> list[int]:
    """A group for each slot of a pot, never a slot's forbidden group (bipartite matching)."""
    size = len(forbidden)
    holder: list[int | None] = [None] * size  # group -> slot

    def seat(slot: int, seen: set[int], strict: bool) -> bool:
        for group in ((slot + step) % size for step in range(size)):  # own group first
            if group in seen or (strict and group == forbidden[slot]):
                continue
            seen.add(group)
            if holder[group] is None or seat(holder[group], seen, strict):  # type: ignore[arg-type]
                holder[group] = slot
                return True
        return False

    for slot in range(size):
        if not seat(slot, set(), True):
            seat(slot, set(), False)  # only with a single group
    groups = [0] * size
    for group, slot in enumerate(holder):
        groups[slot] = group  # type: ignore[index]
    return groups


def _spread(groups: list[int], count: int) -> None:
    """Swap groups within pots 2.. while that makes group-mates meet later; never earlier."""
    slot = seed_order(bracket_size(len(groups)))
    where = {seed - 1: position for position, seed in enumerate(slot)}  # index -> slot
    members: dict[int, set[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, set()).add(index)

    def cost(index: int, group: int, without: int) -> list[int]:
        rounds = [0] * 32  # how many group-mates `index` could first meet in each round
        for other in members[group] - {index, without}:
            rounds[(where[index] ^ where[other]).bit_length()] += 1
        return rounds

    for _ in range(8):  # each sweep only improves; a few are enough in practice
        improved = False
        for first in range(count, len(groups)):
            for second in range(first + 1, first - first % count + count):
                a, b = groups[first], groups[second]
                now = _add(cost(first, a, second), cost(second, b, first))
                swapped = _add(cost(first, b, second), cost(second, a, first))
                if swapped < now:
                    groups[first], groups[second] = b, a
                    members[a] ^= {first, second}
                    members[b] ^= {first, second}
                    improved = True
        if not improved:
            return


def _add(x: list[int], y: list[int]) -> list[int]:
    return [i + j for i, j in zip(x, y, strict=True)]


def playoff_standings(group_play: Play, playoff_play: Play, order: list[int]) -> list[Place]:
    """The whole event: the playoff's places, then those out in the groups by group position.

    `order` is `playoff_order`'s list (playoff seed k is original seed order[k-1]). Entrants
    out in the groups at the same position share a place; anyone disqualified in either
    stage shares the last place.
    """
    keys: dict[int, Key] = {}
    for place in ranking.standings(playoff_play):
        for seed in place.seeds:
            keys[order[seed - 1]] = (2, -place.place)
    for table in group_tables(group_play):
        _rank_by_position(keys, table, group_play.disqualified, skip=set(order))
    disqualified = group_play.disqualified | {order[s - 1] for s in playoff_play.disqualified}
    for seed in disqualified:
        keys[seed] = DISQUALIFIED
    return rank(keys)
