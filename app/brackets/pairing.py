"""How a Swiss round is paired: score groups from the top, no rematches, the bye.

Score groups are paired from the top. A group, with whoever was floated into it from above,
keeps as many of its entrants as it can pair among themselves (the rest of the round must
stay pairable without rematches) and floats the others, its lowest-ranked possible, down to
the next group. Entrants floated in meet the group's highest-ranked entrants they can; the
rest is paired top half against bottom half, the nearest rematch-free order to it.

So, read as a precise statement (the tests check it against a brute force): for every score
boundary, the number of pairs crossing it is the least possible given the pairs already made
above it. When N is a power of two, the higher seed always wins and there are at most log2 N
rounds, every pair has equal scores.

Each choice is checked with a perfect-matching oracle (Edmonds' blossom algorithm on the pairs
not yet played), so a round is always paired without rematches when that is possible at all,
without exponential backtracking. With more than N/2 rounds a greedy round could strand a later
one (six entrants whose first three rounds form two triangles of unplayed pairs cannot play a
fourth), so then the oracle also requires that the remaining rounds stay pairable (a search over
sets of disjoint pairings, bounded; see `_LookAhead`). With at most N/2 rounds Dirac's theorem
makes that automatic. If no rematch-free round exists (only after disqualifications), the round
is paired with as few rematches as possible rather than not at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from app.brackets.matching import Graph, OutOfBudget, Pair
from app.brackets.model import BYE

Oracle = Callable[[list[Pair], list[list[int]]], bool]
"""Whether pairs `fixed` plus a perfect pairing inside each of `parts` can make a valid round."""


# -- pairing ------------------------------------------------------------------------------


def pair_round(ranked: Sequence[int], wins: Mapping[int, int], byes: Mapping[int, int],
               played: Mapping[int, set[int]], rounds_left: int) -> tuple[list[Pair], int | None]:
    """The pairs (higher-ranked first, top board first) and the bye of the next round.

    `ranked` are the entrants still in, best first; `rounds_left` counts this round.
    """
    graph = Graph(ranked, played)
    tier = _bye_tier(graph, byes) if len(ranked) % 2 else set()
    pairing = _Pairer(graph, wins, tier, graph.oracle).pair()
    if pairing is None:
        return _fewest_rematches(graph, tier)
    if not _needs_look_ahead(graph, tier, rounds_left):
        return pairing
    look_ahead = _LookAhead(graph, tier, rounds_left)
    pairs, bye = pairing
    if look_ahead(pairs + ([(bye, BYE)] if bye is not None else []), []):
        # Every choice of the pairing was the first this round allowed, and it leaves the later
        # rounds pairable: the look-ahead pairing would make the same choices.
        return pairing
    return _Pairer(graph, wins, tier, look_ahead).pair() or pairing


def _bye_tier(graph: Graph, byes: Mapping[int, int]) -> set[int]:
    """Who may get the bye: those with the fewest byes among whom it leaves a pairable round."""
    for most in sorted(set(byes.values())):
        tier = {seed for seed in graph.ranked if byes[seed] <= most}
        if any(graph.has_matching(graph.without(seed)) for seed in tier):
            return tier
    return set(graph.ranked)


def _needs_look_ahead(graph: Graph, tier: set[int], rounds_left: int) -> bool:
    """False when Dirac's theorem guarantees every remaining round whatever is paired now.

    A graph of n vertices with minimum degree n/2 has a perfect matching, and each round takes
    one from every vertex's degree (the bye is a vertex whose neighbours may still get it).
    """
    n = len(graph.ranked) + (1 if tier else 0)
    degrees = [n - 1 - len(graph.forbidden[s]) - (1 if tier and s not in tier else 0)
               for s in graph.ranked]
    if tier:
        degrees.append(len(tier))
    return rounds_left > 1 and min(degrees) - (rounds_left - 1) < n / 2


class _Pairer:
    """One round, score group by score group from the top, each choice checked by `oracle`."""

    def __init__(self, graph: Graph, wins: Mapping[int, int], tier: set[int],
                 oracle: Oracle) -> None:
        self.graph, self.wins, self.tier, self.oracle = graph, wins, tier, oracle
        self.fixed: list[Pair] = []
        self.budget = 0

    def pair(self) -> tuple[list[Pair], int | None] | None:
        rest = list(self.graph.ranked)
        bye = None
        if self.tier:
            bye = next((seed for seed in reversed(rest) if seed in self.tier
                        and self.oracle([(seed, BYE)], [self.graph.without(seed)])), None)
            if bye is None:
                return None
            self.fixed.append((bye, BYE))
            rest.remove(bye)
        elif not self.oracle([], [rest]):
            return None
        groups = [list(g) for _, g in itertools.groupby(rest, key=lambda s: self.wins[s])]
        floating: list[int] = []
        for index, group in enumerate(groups):
            bracket = floating + group
            lower = [seed for g in groups[index + 1:] for seed in g]
            stay, floating = self._split(bracket, lower)
            self._pair_bracket(stay, floating + lower, set(bracket) - set(group))
        rank = {seed: index for index, seed in enumerate(self.graph.ranked)}
        pairs = sorted((pair for pair in self.fixed if BYE not in pair),
                       key=lambda pair: rank[pair[0]])
        return pairs, bye

    def _split(self, bracket: list[int], lower: list[int]) -> tuple[list[int], list[int]]:
        """Who stays to be paired in `bracket` and who floats down: as few as possible.

        Among as few, the lowest-ranked: float sets are tried as `combinations` of the bracket
        from the bottom. Usually one of the first few works; otherwise a search that drops
        every branch where no split at all is left (`Graph.can_split`) finds it, within a
        budget that only Swisses far longer than log2 N rounds exceed (see `_split_greedily`).
        """
        if not lower:
            return bracket, []
        self.budget = self.SEARCH_BUDGET
        fewest = len(bracket) - 2 * self.graph.matching_size(bracket)
        try:
            for count in range(fewest, len(bracket) + 1, 2):
                tries = itertools.combinations(reversed(bracket), count)
                down = next((d for d in itertools.islice(tries, self.QUICK)
                             if self._splits(bracket, set(d), lower)), None)
                if down is None and next(tries, None) is not None:
                    down = self._search_split(bracket[::-1], lower, count, [], [])
                if down is not None:
                    return ([s for s in bracket if s not in down],
                            [s for s in bracket if s in down])
        except OutOfBudget:
            return self._split_greedily(bracket, lower)
        raise AssertionError("the oracle accepted a round that cannot be split")

    QUICK = 16
    SEARCH_BUDGET = 400

    def _split_greedily(self, bracket: list[int], lower: list[int],
                        ) -> tuple[list[int], list[int]]:
        """Past the search budget: a valid split, maybe not the fewest floats.

        The look-ahead's last matching is one (it is the witness of the last question it
        answered yes); otherwise keep entrants from the top while some split remains.
        """
        witness = getattr(self.oracle, "floating", None)
        down: list[int] | None = witness(bracket, lower) if witness else None
        if down is None:
            down, stay = [], []
            for index, entrant in enumerate(bracket):
                keep = self.graph.can_split(down, stay + [entrant], bracket[index + 1:], lower)
                (stay if keep else down).append(entrant)
        if not self._splits(bracket, set(down), lower):
            raise AssertionError("a witness split was refused")
        return [s for s in bracket if s not in down], down

    def _splits(self, bracket: list[int], down: set[int], lower: list[int]) -> bool:
        stay = [s for s in bracket if s not in down]
        floating = [s for s in bracket if s in down]
        return self.oracle(self.fixed, [stay, floating + lower])

    def _search_split(self, order: list[int], lower: list[int], count: int,
                      down: list[int], stay: list[int]) -> set[int] | None:
        """The first float set of `count` in `combinations` order, deciding from the bottom."""
        self.budget -= 1
        if self.budget < 0:
            raise OutOfBudget
        decided = len(down) + len(stay)
        if len(down) == count:
            bracket = order[::-1]
            return set(down) if self._splits(bracket, set(down), lower) else None
        if len(down) + len(order) - decided < count:
            return None
        undecided = order[decided:]
        if len(down) + len(stay) + len(undecided) - 2 * self.graph.matching_size(
                stay + undecided) > count:
            return None  # more would have to float than `count`
        entrant, rest = order[decided], order[decided + 1:]
        for floats in (True, False):
            now_down, now_stay = (down + [entrant], stay) if floats else (down, stay + [entrant])
            if self.graph.can_split(now_down, now_stay, rest, lower):
                found = self._search_split(order, lower, count, now_down, now_stay)
                if found is not None:
                    return found
        return None

    def _pair_bracket(self, stay: list[int], others: list[int], floated_in: set[int]) -> None:
        """Pair `stay`, each entrant from the top with the first candidate the oracle accepts."""
        residents = [seed for seed in stay if seed not in floated_in]
        half = len(residents) // 2
        # Halves of the residents as they stand once those floated in are paired.
        top, bottom = residents[:half], residents[half:]
        pending = list(stay)
        while pending:
            first = pending[0]
            if first in floated_in:
                candidates = [s for s in pending if s not in floated_in] + [
                    s for s in pending[1:] if s in floated_in]
            else:
                candidates = [s for s in bottom if s in pending and s != first] + [
                    s for s in reversed(top) if s in pending and s != first]
            partner = next(s for s in candidates if self.graph.allowed(first, s)
                           and self.oracle(self.fixed + [(first, s)],
                                           [[p for p in pending if p not in (first, s)], others]))
            self.fixed.append((first, partner))
            pending = [p for p in pending if p not in (first, partner)]
            if first in floated_in or partner in floated_in:
                residents = [s for s in pending if s not in floated_in]
                half = len(residents) // 2
                top, bottom = residents[:half], residents[half:]


def _fewest_rematches(graph: Graph, tier: set[int]) -> tuple[list[Pair], int | None]:
    """A last resort with no rematch-free round: a maximum matching, the rest paired in order."""
    rest = list(graph.ranked)
    bye = next((s for s in reversed(rest) if s in tier), None)
    if bye is not None:
        rest.remove(bye)
    mate = graph.max_matching(rest)
    pairs = [(a, b) for a, b in mate.items() if rest.index(a) < rest.index(b)]
    alone = [s for s in rest if s not in mate]
    pairs += list(zip(alone[::2], alone[1::2], strict=True))
    rank = {seed: i for i, seed in enumerate(rest)}
    pairs.sort(key=lambda p: rank[p[0]])
    return pairs, bye


class _LookAhead:
    """An oracle that also keeps the remaining rounds rematch-free: `rounds` disjoint matchings.

    The search builds this round's matching (fixed pairs, then inside each part) and then the
    later rounds' ones, most constrained entrant first, with the later rounds taken in a fixed
    order of one entrant's opponents (they are interchangeable). The last solution is kept, so
    most questions are answered by one of its matchings. A search over its node budget (never
    met in fields up to ~24 entrants) gives up: it answers yes, and the rest of the round is
    checked for this round only; a later round then pairs with the fewest rematches if stuck.
    """

    BUDGET = 20_000

    def __init__(self, graph: Graph, tier: set[int], rounds: int) -> None:
        self.graph, self.rounds = graph, rounds
        self.vertices = list(graph.ranked) + ([BYE] if tier else [])
        self.index = {v: i for i, v in enumerate(self.vertices)}
        self.adj = [self._mask(u for u in self.vertices if self._allowed(v, u, tier))
                    for v in self.vertices]
        self.solution: list[list[Pair]] = []
        self.gave_up = False
        self.nodes = 0

    def __call__(self, fixed: list[Pair], parts: list[list[int]]) -> bool:
        if not self.graph.oracle(fixed, parts):
            return False
        if self.gave_up:
            return True
        pairs = [(self.index[a], self.index[b]) for a, b in fixed]
        within = [0] * len(self.vertices)
        for part in parts:
            mask = self._mask(part)
            for v in part:
                within[self.index[v]] = mask
        if self._reuse(pairs, within):
            return True
        self.nodes = 0
        try:
            found = self._search(pairs, within)
        except OutOfBudget:
            self.gave_up = True
            return True
        if found is None:
            return False
        self.solution = found
        return True

    def floating(self, bracket: list[int], lower: list[int]) -> list[int] | None:
        """Who floats from `bracket` into `lower` in the matching of the last yes, if known."""
        if self.gave_up or not self.solution:
            return None
        mate = {}
        for a, b in self.solution[0]:
            mate[self.vertices[a]], mate[self.vertices[b]] = self.vertices[b], self.vertices[a]
        below = set(lower)
        return [seed for seed in bracket if mate.get(seed) in below]

    def _allowed(self, v: int, u: int, tier: set[int]) -> bool:
        if BYE in (v, u):
            return v != u and (v if u == BYE else u) in tier
        return self.graph.allowed(v, u)

    def _mask(self, vertices: Iterable[int]) -> int:
        mask = 0
        for v in vertices:
            mask |= 1 << self.index[v]
        return mask

    def _reuse(self, pairs: list[Pair], within: list[int]) -> bool:
        wanted = {frozenset(p) for p in pairs}
        for i, matching in enumerate(self.solution):
            edges = {frozenset(p) for p in matching}
            if wanted <= edges and all(within[a] >> b & 1 for a, b in matching
                                       if frozenset((a, b)) not in wanted):
                self.solution.insert(0, self.solution.pop(i))
                return True
        return False

    def _search(self, pairs: list[Pair], within: list[int]) -> list[list[Pair]] | None:
        free = 0
        for i, mask in enumerate(within):
            if mask:
                free |= 1 << i
        first = [a & w for a, w in zip(self.adj, within, strict=True)]
        base = _remove(self.adj, pairs)
        for tail in self._matchings(first, free, None):
            later = self._later(_remove(base, tail), self.rounds - 1, -1)
            if later is not None:
                return [pairs + tail, *later]
        return None

    def _later(self, adj: list[int], rounds: int, after: int) -> list[list[Pair]] | None:
        if rounds == 0:
            return []
        degrees = [a.bit_count() for a in adj]
        if min(degrees) < rounds:
            return None
        if min(degrees) - (rounds - 1) >= len(adj) / 2:
            return []  # Dirac again: guaranteed, nothing more to find
        for matching in self._matchings(adj, (1 << len(adj)) - 1, after):
            partner = next(b if a == 0 else a for a, b in matching if 0 in (a, b))
            later = self._later(_remove(adj, matching), rounds - 1, partner)
            if later is not None:
                return [matching, *later]
        return None

    def _matchings(self, adj: list[int], free: int, after: int | None,
                   ) -> Iterator[list[Pair]]:
        """Every perfect matching of `free`; vertex 0's partner above `after` when given."""
        self.nodes += 1
        if self.nodes > self.BUDGET:
            raise OutOfBudget
        if not free:
            yield []
            return
        if after is not None:
            v, options = 0, adj[0] & free & ~((1 << (after + 1)) - 1)
        else:
            v, options = _most_constrained(adj, free)
        rest = free & ~(1 << v)
        while options:
            low = options & -options
            options ^= low
            u = low.bit_length() - 1
            for tail in self._matchings(adj, rest & ~low, None):
                yield [(v, u), *tail]


def _most_constrained(adj: list[int], free: int) -> tuple[int, int]:
    best, options = -1, 0
    count = 1 << 30
    bits = free
    while bits:
        low = bits & -bits
        bits ^= low
        v = low.bit_length() - 1
        mine = adj[v] & free
        if mine.bit_count() < count:
            best, options, count = v, mine, mine.bit_count()
            if count <= 1:
                break
    return best, options


def _remove(adj: list[int], pairs: list[Pair]) -> list[int]:
    adj = list(adj)
    for a, b in pairs:
        adj[a] &= ~(1 << b)
        adj[b] &= ~(1 << a)
    return adj
