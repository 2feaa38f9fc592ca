"""Standard seed order: where each seed stands in the first round of an elimination bracket.

The order for a bracket of 2n slots comes from the order for n: each seed s is paired with its
complement 2n+1-s, the complement placed above s — except seed 1, who stays at the very top.
So seed 1 is always the first slot and seed 2 the last, the top 2^j seeds fall in different
sections of size 2n/2^j, and when the higher seed always wins round r pairs seeds summing to
2n/2^(r-1)+1. For 16 the first round reads 1-16, 8-9, 5-12, 4-13, 6-11, 3-14, 7-10, 2-15.
"""

from __future__ import annotations

from app.brackets.model import BracketError


def bracket_size(entrants: int) -> int:
    """The number of first-round slots: the smallest power of two holding `entrants` (min 2)."""
    if entrants < 2:
        raise BracketError("a bracket needs at least 2 entrants")
    return 1 << (entrants - 1).bit_length()


def seed_order(size: int) -> list[int]:
    """The seed in each first-round slot of a bracket of `size` slots (a power of two)."""
    if size < 1 or size & (size - 1):
        raise BracketError(f"a bracket size must be a power of two, not {size}")
    order = [1]
    while len(order) < size:
        total = 2 * len(order) + 1
        order = [
            seed
            for i, s in enumerate(order)
            for seed in ((s, total - s) if i == 0 else (total - s, s))
        ]
    return order


def first_round(entrants: int) -> list[tuple[int, int | None]]:
    """First-round pairs, top to bottom, higher seed first; None is a bye (top seeds get them)."""
    order = seed_order(bracket_size(entrants))
    pairs = []
    for a, b in zip(order[::2], order[1::2], strict=True):
        high, low = min(a, b), max(a, b)
        pairs.append((high, low if low <= entrants else None))
    return pairs


def tiers(entrants: int) -> list[list[int]]:
    """Seed tiers of an elimination draw: [1], [2], [3, 4], [5..8], [9..16], ...

    Swapping two seeds of one tier keeps every round's expected pairings as balanced as the
    standard order makes them, so separation moves seeds only within their tier.
    """
    result, low = [[1]], 2
    while low <= entrants:
        high = min(entrants, 2 * low - 2) if low > 2 else 2
        result.append(list(range(low, high + 1)))
        low = high + 1
    return result


def elimination_cells(entrants: int) -> list[list[int]]:
    """The first-round pairs of an elimination bracket as cells of seeds (byes left out)."""
    return [[high] if low is None else [high, low] for high, low in first_round(entrants)]


def separate(keys: dict[int, str], cells: list[list[int]], bands: list[list[int]],
             ) -> tuple[dict[int, int], int]:
    """Move seeds within their band so that fewer cells hold two entrants with the same key.

    `keys` maps a seed to its team/club/region ("" or missing: no constraint); `cells` are the
    groups of seeds that meet first (first-round pairs, or round-robin groups); `bands` are the
    sets of seeds that may trade places. Returns `moved` (new seed -> the seed whose entrant now
    holds it, only for seeds that changed) and the number of clashes left.

    A deterministic local search: for each clash, from the lowest-ranked seed up, swap that
    seed with the nearest seed of its band when the swap lowers the total clash count. It
    stops when no single swap helps; separating "where possible" needs no more in practice,
    and every move is reported so organizers can see what changed.
    """
    holder = {seed: seed for cell in cells for seed in cell}  # position -> original seed
    cell_of = {seed: i for i, cell in enumerate(cells) for seed in cell}
    band_of = {seed: band for band in bands for seed in band}

    def key(position: int) -> str:
        return keys.get(holder[position], "")

    def clashes(cell: int) -> int:
        seen = [key(p) for p in cells[cell] if key(p)]
        return len(seen) - len(set(seen))

    improved = True
    while improved:
        improved = False
        for position in sorted(holder, reverse=True):
            if not key(position) or clashes(cell_of[position]) == 0:
                continue
            for other in sorted(band_of.get(position, []), key=lambda s: (abs(s - position), s)):
                if other == position or other not in holder or cell_of[other] == cell_of[position]:
                    continue
                touched = {cell_of[position], cell_of[other]}
                before = sum(clashes(c) for c in touched)
                holder[position], holder[other] = holder[other], holder[position]
                if sum(clashes(c) for c in touched) < before:
                    improved = True
                    break
                holder[position], holder[other] = holder[other], holder[position]
    moved = {position: seed for position, seed in holder.items() if position != seed}
    return moved, sum(clashes(c) for c in range(len(cells)))
