"""Playing a whole bracket out with a rule that picks each winner (CLI, benchmarks, tests)."""

from __future__ import annotations

import random
from collections.abc import Callable

from app.brackets.model import Bracket
from app.brackets.play import Play, Status

Winner = Callable[[int, int], int]
"""Given the seeds of a match's two entrants, the seed of its winner."""


def play_out(bracket: Bracket, winner: Winner) -> Play:
    """Start `bracket` and record every match, in id order, until none is left to play."""
    play = Play(bracket)
    # Ids are in an order where feeders come first, so one pass meets every match once its
    # entrants are known.
    for match_id, state in enumerate(play.states):
        if state.status == Status.READY:
            a, b = state.slots
            play.record(match_id, winner(a, b))  # type: ignore[arg-type]
    return play


def higher_seed(a: int, b: int) -> int:
    """The smaller seed number wins."""
    return min(a, b)


def coin(seed: int) -> Winner:
    """A reproducible random winner from an RNG seeded with `seed`."""
    rng = random.Random(seed)
    return lambda a, b: a if rng.random() < 0.5 else b
