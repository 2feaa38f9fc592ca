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
