"""Rematch-free matchings of entrants: Edmonds' blossom algorithm over who may still meet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Pair = tuple[int, int]


# -- matchings ----------------------------------------------------------------------------


class Graph:
    """The entrants still in and the pairs that may still meet (those who have not met)."""

    def __init__(self, ranked: Sequence[int], played: Mapping[int, set[int]]) -> None:
        self.ranked = list(ranked)
        active = set(ranked)
        self.forbidden = {seed: played[seed] & active for seed in ranked}
        self.most_met = max((len(f) for f in self.forbidden.values()), default=0)
        self._memo: dict[frozenset[int], bool] = {}

    def allowed(self, a: int, b: int) -> bool:
        return a != b and b not in self.forbidden[a]

    def without(self, seed: int) -> list[int]:
        return [s for s in self.ranked if s != seed]

    def oracle(self, fixed: list[Pair], parts: list[list[int]]) -> bool:
        """This round only: each part has a rematch-free perfect matching."""
        return all(self.has_matching(part) for part in parts)

    def has_matching(self, vertices: Sequence[int]) -> bool:
        """Whether `vertices` can all be paired without a rematch."""
        if len(vertices) % 2:
            return False
        if self._dense(vertices):
            return True
        key = frozenset(vertices)
        if key not in self._memo:
            self._memo[key] = len(self.max_matching(vertices)) == len(vertices)
        return self._memo[key]

    def matching_size(self, vertices: Sequence[int]) -> int:
        """How many pairs a maximum rematch-free matching of `vertices` has."""
        if self._dense(vertices):
            return len(vertices) // 2
        return len(self.max_matching(vertices)) // 2

    def _dense(self, vertices: Sequence[int]) -> bool:
        """Dirac: every vertex may meet at least half of the others, so a matching exists."""
        n = len(vertices)
        if n == 0 or n - 1 - self.most_met >= n / 2:
            return True
        inside = set(vertices)
        return n - 1 - max(len(self.forbidden[v] & inside) for v in vertices) >= n / 2

    def can_split(self, down: list[int], stay: list[int], open_: list[int],
                  lower: list[int]) -> bool:
        """Whether `down` can float into `lower` and `stay` pair among themselves, with
        `open_` free to do either: one perfect matching of a gadget graph.

        Each open entrant v becomes a path v_in - v_x - v_out: v_x takes v_out (v stays and
        v_in pairs in the bracket) or v_in (v floats and v_out pairs below).
        """
        inside = stay + open_
        first_x = len(inside)
        first_out = first_x + len(open_)
        first_low = first_out + len(down) + len(open_)
        at_in = {v: i for i, v in enumerate(inside)}
        at_out = {v: first_out + i for i, v in enumerate(down + open_)}
        at_low = {v: first_low + i for i, v in enumerate(lower)}
        if (first_low + len(lower)) % 2:
            return False
        neighbours = [self._ties(v, at_in) for v in inside]
        for i, v in enumerate(open_):
            neighbours[at_in[v]].append(first_x + i)
        neighbours += [[at_in[v], at_out[v]] for v in open_]
        neighbours += [self._ties(v, at_low) + ([first_x + i - len(down)] if i >= len(down)
                                                else []) for i, v in enumerate(down + open_)]
        neighbours += [self._ties(v, at_low) + self._ties(v, at_out) for v in lower]
        return min(_blossom(neighbours), default=0) >= 0

    def _ties(self, v: int, at: dict[int, int]) -> list[int]:
        """The indices in `at` of those `v` may meet."""
        return [at[u] for u in at.keys() - self.forbidden[v] if u != v]

    def max_matching(self, vertices: Sequence[int]) -> dict[int, int]:
        """A maximum rematch-free matching of `vertices`, as a mate for each matched one."""
        neighbours = [[j for j, b in enumerate(vertices) if self.allowed(a, b)]
                      for a in vertices]
        mate = _blossom(neighbours)
        return {vertices[i]: vertices[j] for i, j in enumerate(mate) if j >= 0}


def _blossom(neighbours: list[list[int]]) -> list[int]:
    """Edmonds' maximum matching (O(V^3)): mate[v], or -1 when v stays unmatched."""
    n = len(neighbours)
    mate = [-1] * n
    for v in range(n):  # a greedy start leaves few augmenting paths to search for
        if mate[v] < 0:
            free = next((u for u in neighbours[v] if mate[u] < 0), -1)
            if free >= 0:
                mate[v], mate[free] = free, v
    for root in range(n):
        if mate[root] < 0:
            _augment(neighbours, mate, root)
    return mate


def _augment(neighbours: list[list[int]], mate: list[int], root: int) -> None:
    """Search an augmenting path from `root` (contracting odd cycles) and flip it if found."""
    n = len(neighbours)
    parent = [-1] * n
    base = list(range(n))
    used = [False] * n
    used[root] = True
    queue = [root]

    def lca(a: int, b: int) -> int:
        seen = [False] * n
        while True:
            a = base[a]
            seen[a] = True
            if mate[a] < 0:
                break
            a = parent[mate[a]]
        while True:
            b = base[b]
            if seen[b]:
                return b
            b = parent[mate[b]]

    def mark(v: int, b: int, child: int, blossom: list[bool]) -> None:
        while base[v] != b:
            blossom[base[v]] = blossom[base[mate[v]]] = True
            parent[v] = child
            child = mate[v]
            v = parent[mate[v]]

    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for to in neighbours[v]:
            if base[v] == base[to] or mate[v] == to:
                continue
            if to == root or (mate[to] >= 0 and parent[mate[to]] >= 0):
                common = lca(v, to)
                blossom = [False] * n
                mark(v, common, to, blossom)
                mark(to, common, v, blossom)
                for i in range(n):
                    if blossom[base[i]]:
                        base[i] = common
                        if not used[i]:
                            used[i] = True
                            queue.append(i)
            elif parent[to] < 0:
                parent[to] = v
                if mate[to] < 0:
                    while to >= 0:  # flip the path back to the root
                        previous = mate[parent[to]]
                        mate[to], mate[parent[to]] = parent[to], to
                        to = previous
                    return
                used[mate[to]] = True
                queue.append(mate[to])


class OutOfBudget(Exception):
    """A bounded search ran out of its budget."""
