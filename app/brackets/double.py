"""Double elimination: a winners bracket, a losers bracket fed by its losers, a grand final.

Shape, for a bracket of 2^k first-round slots (byes as in single elimination):

- winners rounds 1..k; losers rounds 1..2(k-1).
- Losers round 1 pairs the losers of winners round 1 (matches 1-2, 3-4, ...).
- Losers round 2(t-1), for t = 2..k, is a drop round: the losers of winners round t each meet a
  survivor of the losers bracket. Losers round 2t-1 pairs the survivors of round 2(t-1).
- The losers-bracket champion meets the winners-bracket champion in the grand final: none (the
  winners champion wins the event, the losers champion places second), single, or reset (a
  second final, played only if the losers champion wins the first).

Drop order — the rule that keeps rematches late at every size. The loser of winners match j
(0-based, round t) drops into losers match j XOR c_t of its drop round, where c_t is the low
(k-t) bits of t-1 written in reverse (the bit of value 1 becomes the top bit). So winners round
1 drops in order, round 2 swaps halves, round 3 swaps neighbouring quarters, round 4 swaps
halves and quarters, and so on, which at 8 slots is natural / reverse / natural.

Why: with XOR masks, each losers-bracket subtree at drop round t holds, for every earlier round
s, all the round-s losers under one round-t winners match (c_s >> (t-s) away from the subtree's
own). Two entrants who met in the winners bracket can meet again only where two of those values
coincide, and bit-reversed counters keep the t values distinct while t <= 2^(k-t). No order
does better: such a subtree holds losers from t*2^t first-round slots, so once that exceeds 2^k
two of them must share a winners path. So the first possible losers-bracket rematch comes at the
latest round any drop order can reach (the tests check this for every size up to 4096).
"""

from __future__ import annotations

from app.brackets.model import (
    BestOf,
    Bracket,
    Format,
    GrandFinal,
    Side,
    Source,
    add_match,
)
from app.brackets.single import winners_bracket


def build(
    entrants: int,
    *,
    grand_final: GrandFinal | str = GrandFinal.SINGLE,
    best_of: BestOf | None = None,
) -> Bracket:
    """A double-elimination bracket with the given grand-final mode."""
    best_of = best_of or BestOf()
    mode = GrandFinal(grand_final)
    matches: list = []
    rounds = winners_bracket(matches, entrants, best_of, final_is_final=False)
    winners: list[list[int]] = [[] for _ in range(rounds + 1)]
    for match in matches:
        winners[match.round].append(match.id)
    losers_champion = _losers_bracket(matches, winners, rounds, best_of)
    if mode != GrandFinal.NONE:
        best = best_of.of(Side.GRAND_FINAL, 1, final=True)
        first = add_match(matches, Side.GRAND_FINAL, 1, 1, best,
                          Source("winner", winners[rounds][0]), losers_champion)
        if mode == GrandFinal.RESET:
            add_match(matches, Side.GRAND_FINAL, 2, 1, best,
                      Source("loser", first), Source("winner", first), reset_of=first)
    return Bracket(Format.DOUBLE_ELIMINATION, entrants, matches, grand_final=mode)


def drop_mask(rounds: int, winners_round: int) -> int:
    """c_t: the XOR mask of winners round t's drop order in a bracket of 2^rounds slots."""
    bits = rounds - winners_round
    counter = (winners_round - 1) & ((1 << bits) - 1)
    return int(f"{counter:0{bits}b}"[::-1], 2) if bits else 0


def drop_order(size: int, winners_round: int) -> list[int]:
    """Which winners match (0-based) drops into each losers entry point of the drop round.

    Entry points run top to bottom; losers round 1 has two per match, later drop rounds one.
    """
    mask = drop_mask(size.bit_length() - 1, winners_round)
    return [i ^ mask for i in range(size >> winners_round)]


def _losers_bracket(matches: list, winners: list[list[int]], rounds: int,
                    best_of: BestOf) -> Source:
    """Append the losers bracket; return where its champion comes from."""
    if rounds == 1:  # two slots: the loser of the only winners match is the losers champion
        return Source("loser", winners[1][0])
    mask = drop_mask(rounds, 1)
    first = winners[1]
    survivors = [
        _add(matches, 1, i // 2 + 1, best_of,
             Source("loser", first[i ^ mask]), Source("loser", first[(i + 1) ^ mask]))
        for i in range(0, len(first), 2)
    ]
    for t in range(2, rounds + 1):
        mask, dropping, round_ = drop_mask(rounds, t), winners[t], 2 * (t - 1)
        survivors = [
            _add(matches, round_, i + 1, best_of,
                 Source("loser", dropping[i ^ mask]), Source("winner", survivor))
            for i, survivor in enumerate(survivors)
        ]
        if t < rounds:
            survivors = [
                _add(matches, round_ + 1, i // 2 + 1, best_of,
                     Source("winner", survivors[i]), Source("winner", survivors[i + 1]))
                for i in range(0, len(survivors), 2)
            ]
    return Source("winner", survivors[0])


def _add(matches: list, round_: int, position: int, best_of: BestOf,
         top: Source, bottom: Source) -> int:
    best = best_of.of(Side.LOSERS, round_)
    return add_match(matches, Side.LOSERS, round_, position, best, top, bottom)
