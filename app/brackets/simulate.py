"""Playing a whole bracket out with a rule that picks each winner (CLI, benchmarks, tests).

In formats whose standings count games (round robin, Swiss) each result is recorded with a
score: the winner takes best_of//2+1 games and the loser as many as the rule's optional
`loser_games(best_of)` says — none for a plain function such as `higher_seed`, a draw from the
same RNG for `coin`. Elimination results go without scores: nothing there reads them, and
checking them would cost the engine benchmark a fifth of its time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from app.brackets import swiss
from app.brackets.model import Bracket, Format
from app.brackets.play import READY, Play

Winner = Callable[[int, int], int]
"""Given the seeds of a match's two entrants, the seed of its winner."""

GAMES_COUNT = (Format.ROUND_ROBIN, Format.SWISS)


def play_out(bracket: Bracket, winner: Winner) -> Play:
    """Start `bracket` and record every match, in id order, until none is left to play.

    Swiss rounds are paired as each round completes, until the planned rounds are played.
    """
    play = Play(bracket)
    scored = bracket.format in GAMES_COUNT
    start, states, record = 0, play.states, play.record
    while True:
        # Ids are in an order where feeders come first, so one pass meets every match once
        # its entrants are known.
        for match_id in range(start, len(states)):
            state = states[match_id]
            if state.status == READY:
                a, b = state.slots
                won = winner(a, b)  # type: ignore[arg-type]
                scores = _scores(winner, play.matches[match_id].best_of, won == a) \
                    if scored else None
                record(match_id, won, scores)
        if bracket.format != Format.SWISS or not swiss.can_pair_next(play):
            return play
        start = len(play.states)
        swiss.next_round(play)


def _scores(winner: Winner, best_of: int, top_won: bool) -> tuple[int, int]:
    """Games won by slot 0 and slot 1."""
    won, lost = best_of // 2 + 1, _loser_games(winner, best_of)
    return (won, lost) if top_won else (lost, won)


def _loser_games(winner: Winner, best_of: int) -> int:
    draw = getattr(winner, "loser_games", None)
    return draw(best_of) if draw is not None else 0


def higher_seed(a: int, b: int) -> int:
    """The smaller seed number wins."""
    return min(a, b)


class Coin:
    """A reproducible random winner, and a random score for the loser, from one seeded RNG."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def __call__(self, a: int, b: int) -> int:
        return a if self._rng.random() < 0.5 else b

    def loser_games(self, best_of: int) -> int:
        """Games the loser took, 0..best_of//2."""
        most = best_of // 2  # no draw for a best-of-1: its winners stay what they always were
        return self._rng.randint(0, most) if most else 0


def coin(seed: int) -> Coin:
    """A reproducible random winner (and loser's score) from an RNG seeded with `seed`."""
    return Coin(seed)


def relabel(winner: Winner, seeds: Sequence[int]) -> Winner:
    """`winner` applied to the entrants behind a later stage's seeds (`seeds[k-1]` is seed k).

    A playoff after a group stage is seeded 1..K, but "the higher seed wins" or a coin should
    still judge the original entrants, and the coin should go on with the same RNG.
    """
    return _Relabelled(winner, seeds)


class _Relabelled:
    def __init__(self, winner: Winner, seeds: Sequence[int]) -> None:
        self._winner = winner
        self._seeds = list(seeds)
        self._stage_seed = {entrant: k for k, entrant in enumerate(self._seeds, start=1)}

    def __call__(self, a: int, b: int) -> int:
        return self._stage_seed[self._winner(self._seeds[a - 1], self._seeds[b - 1])]

    def loser_games(self, best_of: int) -> int:
        return _loser_games(self._winner, best_of)
