"""Single elimination for any number of entrants, optionally with a third-place match.

Entrants are seeds 1..N. The first round has a slot for every seed of the next power of two;
the missing seeds are byes, which fall against the top seeds (see `seeding`), so a first-round
match holds at most one bye and every later match holds two real entrants.
"""

from __future__ import annotations

from app.brackets.model import (
    A_BYE,
    BestOf,
    Bracket,
    Format,
    Link,
    Match,
    Side,
    Source,
    add_match,
)
from app.brackets.seeding import first_round


def build(entrants: int, *, third_place: bool = False, best_of: BestOf | None = None) -> Bracket:
    """A single-elimination bracket (the third-place match needs at least 4 entrants)."""
    best_of = best_of or BestOf()
    matches: list = []
    rounds = winners_bracket(matches, entrants, best_of, final_is_final=True)
    has_third = third_place and entrants >= 4  # with 3, one semi-final is a bye
    if has_third:
        semis = [m.id for m in matches if m.round == rounds - 1]
        add_match(matches, Side.THIRD_PLACE, 1, 1, best_of.of(Side.WINNERS, rounds),
                  Source("loser", semis[0]), Source("loser", semis[1]))
    return Bracket(Format.SINGLE_ELIMINATION, entrants, matches, third_place=has_third)


def winners_bracket(matches: list, entrants: int, best_of: BestOf, *, final_is_final: bool) -> int:
    """Append the winners bracket's matches, round by round; return its number of rounds."""
    pairs = first_round(entrants)
    only = final_is_final and len(pairs) == 1  # two entrants: the first round is the final
    best = best_of.of(Side.WINNERS, 1, final=only)
    previous = []
    for position, (high, low) in enumerate(pairs, start=1):
        bottom = Source("seed", low) if low is not None else A_BYE
        previous.append(add_match(matches, Side.WINNERS, 1, position, best,
                                  Source("seed", high), bottom))
    round_ = 1
    while len(previous) > 1:
        round_ += 1
        best = best_of.of(Side.WINNERS, round_, final=final_is_final and len(previous) == 2)
        previous = _next_round(matches, previous, round_, best)
    return round_


def _next_round(matches: list[Match], previous: list[int], round_: int, best: int) -> list[int]:
    """Append a round whose matches pair the winners of `previous` two by two.

    The hot path of building big brackets, so it links the feeders itself instead of going
    through `add_match` (same result, a third of the time).
    """
    ids = []
    for i in range(0, len(previous), 2):
        top, bottom = previous[i], previous[i + 1]
        match_id = len(matches)
        matches.append(Match(match_id, Side.WINNERS, round_, i // 2 + 1, best,
                             (Source("winner", top), Source("winner", bottom))))
        matches[top].winner_to = Link(match_id, 0)
        matches[bottom].winner_to = Link(match_id, 1)
        ids.append(match_id)
    return ids
