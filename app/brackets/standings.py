"""Final places, competition style: entrants eliminated at the same stage share a place.

Single elimination ranks entrants by the round they lost in (a third-place match splits the
semi-final losers); double elimination by the losers-bracket round they lost in (the grand
final's loser is second). So 8 entrants place 1, 2, 3, 3, 5, 5, 5, 5 in single elimination and
1, 2, 3, 4, 5, 5, 7, 7 in double. With no grand final the winners-bracket champion wins and
the losers-bracket champion is second. Entrants still in an unfinished bracket share the best
open place; disqualified entrants share the last place; a double forfeit eliminates both
entrants at the stage where the loser of that match would have been eliminated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.brackets.model import BYE, Format, Link, Match, Side
from app.brackets.play import Outcome, Play, Status

Key = tuple[int, int]
CHAMPION: Key = (1 << 30, 1)
STILL_IN: Key = (1 << 30, 0)
DISQUALIFIED: Key = (-1, 0)


@dataclass(frozen=True, slots=True)
class Place:
    place: int
    seeds: list[int]


def standings(play: Play) -> list[Place]:
    """Places from best to worst, each with its seeds in seed order."""
    fmt = play.bracket.format
    if fmt == Format.SINGLE_ELIMINATION:
        keys = _exits(play, *_single_rules(play))
    elif fmt == Format.DOUBLE_ELIMINATION:
        keys = _exits(play, *_double_rules(play))
    elif fmt == Format.ROUND_ROBIN:
        from app.brackets import round_robin
        return round_robin.standings(play)
    else:
        from app.brackets import swiss
        return swiss.standings(play)
    for seed in play.disqualified:
        keys[seed] = DISQUALIFIED
    return rank({seed: keys.get(seed, STILL_IN) for seed in range(1, play.bracket.entrants + 1)})


def rank(keys: dict[int, Key]) -> list[Place]:
    """Competition ranking (1, 2, 2, 4): higher keys first, equal keys share a place."""
    ordered = sorted(keys, key=lambda seed: (-keys[seed][0], -keys[seed][1], seed))
    places: list[Place] = []
    for position, seed in enumerate(ordered, start=1):
        if places and keys[places[-1].seeds[0]] == keys[seed]:
            places[-1].seeds.append(seed)
        else:
            places.append(Place(position, [seed]))
    return places


LossKey = Callable[[Match], Key]
WinKey = Callable[[Match], Key]


def _exits(play: Play, loss_key: LossKey, win_key: WinKey) -> dict[int, Key]:
    """Each eliminated entrant's key, read off the match where their run ended."""
    keys: dict[int, Key] = {}
    for match, state in zip(play.matches, play.states, strict=True):
        if state.status != Status.COMPLETED:
            continue
        if state.outcome == Outcome.DOUBLE_FORFEIT:
            for seed in state.slots:
                keys[seed] = loss_key(match)  # type: ignore[index]
            continue
        if state.loser != BYE and not _goes_on(play, match.loser_to):
            keys[state.loser] = loss_key(match)  # type: ignore[index]
        if state.winner != BYE and not _goes_on(play, match.winner_to):
            keys[state.winner] = win_key(match)  # type: ignore[index]
    return keys


def _goes_on(play: Play, link: Link | None) -> bool:
    return link is not None and play.states[link.match].status != Status.SKIPPED


def _single_rules(play: Play) -> tuple[LossKey, WinKey]:
    semis = play.bracket.rounds(Side.WINNERS) - 1

    def loss(match: Match) -> Key:
        return (semis, 0) if match.side == Side.THIRD_PLACE else (match.round, 0)

    def win(match: Match) -> Key:
        return (semis, 1) if match.side == Side.THIRD_PLACE else CHAMPION

    return loss, win


def _double_rules(play: Play) -> tuple[LossKey, WinKey]:
    last = play.bracket.rounds(Side.LOSERS)
    matches = play.matches

    def loss(match: Match) -> Key:
        if match.side == Side.LOSERS:
            return (match.round, 0)
        if match.side == Side.GRAND_FINAL:
            return (last + 1, 0)
        if match.loser_to is None:  # two entrants, no grand final: the loser is second
            return (last, 1)
        return loss(matches[match.loser_to.match])  # where a double forfeit's loser would go

    def win(match: Match) -> Key:
        return (last, 1) if match.side == Side.LOSERS else CHAMPION

    return loss, win
