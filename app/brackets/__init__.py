"""The bracket engine: pure Python, no Flask and no database (see DESIGN.md §4).

`build` makes a `Bracket` (matches with their feeder links) from a number of seeded entrants;
`Play` applies results and progression; `standings` ranks the entrants.
"""

from __future__ import annotations

from app.brackets import double, round_robin, single, swiss
from app.brackets.model import BestOf, Bracket, BracketError, Format, GrandFinal


def build(
    format: Format | str,
    entrants: int,
    *,
    grand_final: GrandFinal | str = GrandFinal.SINGLE,
    third_place: bool = False,
    best_of: BestOf | None = None,
    groups: int = 1,
    cycles: int = 1,
    rounds: int | None = None,
) -> Bracket:
    """The bracket of `format` for seeds 1..`entrants` with the given options."""
    fmt = Format(format)
    if fmt == Format.SINGLE_ELIMINATION:
        return single.build(entrants, third_place=third_place, best_of=best_of)
    if third_place:
        raise BracketError("a third-place match exists only in single elimination")
    if fmt == Format.DOUBLE_ELIMINATION:
        return double.build(entrants, grand_final=grand_final, best_of=best_of)
    if fmt == Format.ROUND_ROBIN:
        return round_robin.build(entrants, groups=groups, cycles=cycles, best_of=best_of)
    return swiss.build(entrants, rounds=rounds, best_of=best_of)
