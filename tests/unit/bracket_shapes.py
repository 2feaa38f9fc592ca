"""The shape of elimination standings (every entrant's place), computed without playing."""

from __future__ import annotations

from app.brackets.play import Play
from app.brackets.seeding import bracket_size, first_round
from app.brackets.standings import standings


def places(play: Play) -> list[int]:
    """Every entrant's place, best first (the shape of the standings)."""
    return [p.place for p in standings(play) for _ in p.seeds]


def expected_places(fmt: str, entrants: int, third_place: bool = False) -> list[int]:
    """The standings' shape from counting who is eliminated where, without playing."""
    size = bracket_size(entrants)
    if fmt == "single_elimination":
        shape = [1, 2] + ([3, 4] if third_place and entrants >= 4 else [])
        rounds = size.bit_length() - 1
        for round_ in range(rounds - (2 if len(shape) == 4 else 1), 0, -1):
            losers = size >> round_ if round_ > 1 else entrants - size // 2
            shape += [(size >> round_) + 1] * losers
        return shape
    if entrants == 2:
        return [1, 2]
    byes = [low is None for _, low in first_round(entrants)]
    pairs = list(zip(byes[::2], byes[1::2], strict=True))
    eliminated = {1: sum(1 for a, b in pairs if not a and not b)}  # losers round 1 real matches
    rounds = size.bit_length() - 1
    for round_ in range(2, 2 * (rounds - 1) + 1):
        count = size >> ((round_ + 1) // 2 + 1)  # matches in the round
        eliminated[round_] = count - (sum(1 for a, b in pairs if a and b) if round_ == 2 else 0)
    shape = [1, 2]
    for round_ in sorted(eliminated, reverse=True):
        shape += [len(shape) + 1] * eliminated[round_]
    return shape
