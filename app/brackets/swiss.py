"""Swiss: a fixed number of rounds, each pairing entrants with the same record who have not met.

Round 1 pairs by seed, top half against bottom half (1 v N/2+1, 2 v N/2+2, ...: the Dutch
system); `next_round` pairs each later round once the previous one is complete:

- Entrants are ranked by match wins, then Buchholz (the sum of their opponents' match wins),
  then head to head, then seed (see `standings`). A score group is the entrants with the same
  number of wins. Disqualified entrants are not paired any more.
- When the number of entrants still in is odd, the lowest-ranked one who has had the fewest byes
  sits the round out with a bye. A bye is worth a win and adds nothing to Buchholz.
- Nobody meets the same opponent twice.
- Score groups are paired from the top (`app.brackets.pairing`).

This module holds the structure and the standings; `pairing` decides each round's pairs.
"""


from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from app.brackets.model import (
    A_BYE,
    BestOf,
    Bracket,
    BracketError,
    Format,
    Side,
    Source,
    add_match,
)
from app.brackets.pairing import Pair, pair_round
from app.brackets.play import Outcome, Play, Status
from app.brackets.standings import Place

# -- structure ----------------------------------------------------------------------------


def build(entrants: int, *, rounds: int | None = None, best_of: BestOf | None = None) -> Bracket:
    """A Swiss of `rounds` rounds (default ceil(log2 N)) holding its first round only."""
    if entrants < 2:
        raise BracketError("a Swiss needs at least 2 entrants")
    planned = (entrants - 1).bit_length() if rounds is None else rounds
    if not isinstance(planned, int) or not 1 <= planned <= entrants - 1:
        raise BracketError(f"a Swiss of {entrants} entrants has 1 to {entrants - 1} rounds "
                           "(more cannot avoid rematches)")
    seeds = list(range(1, entrants + 1))
    bye = seeds.pop() if entrants % 2 else None
    half = len(seeds) // 2
    bracket = Bracket(Format.SWISS, entrants, [], rounds_planned=planned)
    _add_round(bracket, list(zip(seeds[:half], seeds[half:], strict=True)), bye,
               best_of or BestOf())
    return bracket


def can_pair_next(play: Play) -> bool:
    """Whether every paired match is decided and rounds remain to be paired."""
    bracket = play.bracket
    return (bracket.rounds(Side.SWISS) < bracket.rounds_planned and _open_match(play) is None
            and len(play.disqualified) < bracket.entrants)


def next_round(play: Play, *, best_of: BestOf | None = None) -> list[int]:
    """Pair the next round: append its matches to the bracket and the play; return their ids.

    `best_of` should be the one the bracket was built with (the bracket does not keep it).
    """
    bracket = play.bracket
    paired = bracket.rounds(Side.SWISS)
    if paired >= bracket.rounds_planned:
        raise BracketError(f"all {bracket.rounds_planned} rounds are paired")
    open_match = _open_match(play)
    if open_match is not None:
        raise BracketError(f"round {paired} is not over: match {open_match} is still open")
    records = _records(play)
    ranked = _ranking(records, play.disqualified)
    if not ranked:
        raise BracketError("no entrant is left to pair")
    played = _played(play)
    byes = {seed: records[seed].byes for seed in ranked}
    wins = {seed: records[seed].wins for seed in ranked}
    pairs, bye = pair_round(ranked, wins, byes, played, bracket.rounds_planned - paired)
    ids = _add_round(bracket, pairs, bye, best_of or BestOf())
    play.extend([bracket.matches[i] for i in ids])
    return ids


def _add_round(bracket: Bracket, pairs: list[Pair], bye: int | None,
               best_of: BestOf) -> list[int]:
    round_ = bracket.rounds(Side.SWISS) + 1
    best = best_of.of(Side.SWISS, round_)
    slots = [(Source("seed", a), Source("seed", b)) for a, b in pairs]
    if bye is not None:
        slots.append((Source("seed", bye), A_BYE))
    return [add_match(bracket.matches, Side.SWISS, round_, position, best, top, bottom)
            for position, (top, bottom) in enumerate(slots, start=1)]


def _open_match(play: Play) -> int | None:
    return next((i for i, s in enumerate(play.states) if s.status != Status.COMPLETED), None)


def _played(play: Play) -> dict[int, set[int]]:
    """Who has been paired with whom (whatever the result, so a double forfeit counts)."""
    played: dict[int, set[int]] = {seed: set() for seed in range(1, play.bracket.entrants + 1)}
    for match in play.matches:
        top, bottom = match.slots
        if top.kind == "seed" and bottom.kind == "seed":
            played[top.ref].add(bottom.ref)
            played[bottom.ref].add(top.ref)
    return played


# -- standings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the Swiss table."""

    place: int
    seed: int
    wins: int  # byes included
    losses: int  # a double forfeit is a loss for both
    byes: int
    buchholz: int  # the sum of the match wins of every opponent met (a bye counts 0)
    disqualified: bool


@dataclass(slots=True)
class _Record:
    wins: int = 0
    losses: int = 0
    byes: int = 0
    opponents: list[int] = field(default_factory=list)  # one entry per decided meeting
    beaten: list[int] = field(default_factory=list)


def table(play: Play) -> list[Row]:
    """Every entrant's record, in standings order (decided matches only)."""
    records = _records(play)
    ranked = _ranking(records, play.disqualified)
    rows = [_row(records, seed, place, False) for place, seed in enumerate(ranked, start=1)]
    last = len(ranked) + 1
    rows += [_row(records, seed, last, True) for seed in sorted(play.disqualified)]
    return rows


def standings(play: Play) -> list[Place]:
    """Unique places by wins, Buchholz, head to head and seed; disqualified entrants share last.

    Head to head: when entrants are level on wins and Buchholz and every two of them have met,
    the one with more wins in those meetings ranks higher; otherwise (and among those still
    level) the better seed does. So there is always exactly one champion.
    """
    rows = table(play)
    places = [Place(row.place, [row.seed]) for row in rows if not row.disqualified]
    if play.disqualified:
        places.append(Place(rows[-1].place, sorted(play.disqualified)))
    return places


def _row(records: dict[int, _Record], seed: int, place: int, disqualified: bool) -> Row:
    record = records[seed]
    return Row(place, seed, record.wins, record.losses, record.byes,
               _buchholz(records, seed), disqualified)


def _records(play: Play) -> dict[int, _Record]:
    records = {seed: _Record() for seed in range(1, play.bracket.entrants + 1)}
    for state in play.states:
        if state.status != Status.COMPLETED:
            continue
        if state.outcome == Outcome.BYE:
            records[state.winner].wins += 1  # type: ignore[index]
            records[state.winner].byes += 1  # type: ignore[index]
            continue
        a, b = state.slots
        records[a].opponents.append(b)  # type: ignore[index, arg-type]
        records[b].opponents.append(a)  # type: ignore[index, arg-type]
        if state.outcome == Outcome.DOUBLE_FORFEIT:
            records[a].losses += 1  # type: ignore[index]
            records[b].losses += 1  # type: ignore[index]
            continue
        records[state.winner].wins += 1  # type: ignore[index]
        records[state.winner].beaten.append(state.loser)  # type: ignore[index, arg-type]
        records[state.loser].losses += 1  # type: ignore[index]
    return records


def _buchholz(records: dict[int, _Record], seed: int) -> int:
    return sum(records[opponent].wins for opponent in records[seed].opponents)


def _ranking(records: dict[int, _Record], disqualified: set[int]) -> list[int]:
    """Entrants still in, best first: wins, Buchholz, head to head, seed."""
    buchholz = {seed: _buchholz(records, seed) for seed in records}

    def level(seed: int) -> tuple[int, int]:
        return records[seed].wins, buchholz[seed]

    active = sorted((s for s in records if s not in disqualified),
                    key=lambda s: (-records[s].wins, -buchholz[s], s))
    return [seed for _, tied in itertools.groupby(active, key=level)
            for seed in _head_to_head(list(tied), records)]


def _head_to_head(tied: list[int], records: dict[int, _Record]) -> list[int]:
    """Order entrants level on wins and Buchholz by their wins against each other, if all met."""
    group = set(tied)
    if len(tied) < 2 or any(len(group & set(records[s].opponents)) < len(tied) - 1
                            for s in tied):
        return tied  # already in seed order
    score = {s: sum(1 for o in records[s].beaten if o in group) for s in tied}
    return sorted(tied, key=lambda s: (-score[s], s))
