"""The engine's vocabulary: matches, their slots and links, brackets, best-of settings.

Plain data, no behaviour beyond small lookups, so a service can persist a `Bracket` row by row
and rebuild it later without the engine holding any hidden state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

BYE = 0
"""The entrant value of a bye in a match's slot (real entrants are seeds 1..N)."""


class BracketError(ValueError):
    """An operation the bracket's rules do not allow (the app maps it to IllegalTransition)."""


class Format(enum.StrEnum):
    SINGLE_ELIMINATION = "single_elimination"
    DOUBLE_ELIMINATION = "double_elimination"
    ROUND_ROBIN = "round_robin"
    SWISS = "swiss"


class Side(enum.StrEnum):
    """Which part of a bracket a match belongs to (every single-elimination match is `winners`)."""

    WINNERS = "winners"
    LOSERS = "losers"
    GRAND_FINAL = "grand_final"
    THIRD_PLACE = "third_place"
    GROUP = "group"
    SWISS = "swiss"


class GrandFinal(enum.StrEnum):
    NONE = "none"
    SINGLE = "single"
    RESET = "reset"


class Source(NamedTuple):
    """Where a slot's entrant comes from: a seed, a bye, or the winner/loser of another match."""

    kind: str  # "seed" | "bye" | "winner" | "loser"
    ref: int = 0  # the seed number, or the feeding match's id

    def __str__(self) -> str:
        if self.kind == "seed":
            return f"Seed {self.ref}"
        if self.kind == "bye":
            return "Bye"
        return f"{self.kind.capitalize()} of match {self.ref}"


A_BYE = Source("bye")


class Link(NamedTuple):
    """A destination: slot `slot` (0 or 1) of match `match`."""

    match: int
    slot: int


@dataclass(slots=True)
class Match:
    """One match of the structure; its id is its index in `Bracket.matches`."""

    id: int
    side: Side
    round: int  # 1-based within its side
    position: int  # 1-based within (side, round), top to bottom
    best_of: int
    slots: tuple[Source, Source]
    winner_to: Link | None = None
    loser_to: Link | None = None
    group: int | None = None  # round robin: the group number
    # A grand-final reset: played only if the first final (this id) is won from its slot 1.
    reset_of: int | None = None


@dataclass(slots=True)
class Bracket:
    """A stage: its matches in an order where every match comes after the ones feeding it."""

    format: Format
    entrants: int
    matches: list[Match]
    grand_final: GrandFinal = GrandFinal.NONE
    third_place: bool = False
    groups: int = 1  # round robin: number of groups
    cycles: int = 1  # round robin: 1 single, 2 double round robin
    rounds_planned: int = 0  # swiss: how many rounds will be paired in all

    def rounds(self, side: Side) -> int:
        """How many rounds `side` has (0 when the bracket has no such side)."""
        return max((m.round for m in self.matches if m.side == side), default=0)


@dataclass(frozen=True, slots=True)
class BestOf:
    """Best-of per match: finals, then a per-round override, then the default.

    `rounds` keys are "3" (winners round 3, or round 3 of a single elimination) and "L3"
    (losers round 3); int keys mean winners rounds. Finals are the single-elimination final
    and both grand-final matches.
    """

    default: int = 1
    finals: int | None = None
    rounds: Mapping[str | int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = [self.default, *self.rounds.values()]
        if self.finals is not None:
            values.append(self.finals)
        if any(not isinstance(v, int) or v < 1 for v in values):
            raise BracketError("best-of values must be positive whole numbers")
        object.__setattr__(self, "rounds", {str(k).upper(): v for k, v in self.rounds.items()})

    def of(self, side: Side, round: int, *, final: bool = False) -> int:
        """The best-of of a match of `side` in `round`."""
        if final and self.finals is not None:
            return self.finals
        key = f"L{round}" if side == Side.LOSERS else str(round)
        return self.rounds.get(key, self.default)


def add_match(
    matches: list[Match], side: Side, round: int, position: int, best_of: int,
    top: Source, bottom: Source, *, reset_of: int | None = None,
) -> int:
    """Append a match fed by `top` and `bottom`, link its feeders to it, and return its id."""
    match_id = len(matches)
    matches.append(Match(match_id, side, round, position, best_of, (top, bottom),
                         reset_of=reset_of))
    for slot, source in enumerate((top, bottom)):
        if source.kind == "winner":
            matches[source.ref].winner_to = Link(match_id, slot)
        elif source.kind == "loser":
            matches[source.ref].loser_to = Link(match_id, slot)
    return match_id
