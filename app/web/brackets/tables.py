"""Standings tables of the bracket page: one per round-robin group, one for a Swiss stage.

Plain rows for `templates/partials/bracket_standings.html`, read off the engine's own
tie-broken order (`round_robin.group_tables`, `swiss.table`), so the page and the playoffs
agree on who is where.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from app.brackets import round_robin, swiss
from app.brackets.model import BYE, Format
from app.brackets.model import Bracket as Structure
from app.brackets.play import Outcome, Play, Status


@dataclass(frozen=True, slots=True)
class Row:
    place: int
    seed: int
    name: str
    cells: tuple[str, ...]
    out: bool = False  # disqualified


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # "group-1", "swiss"
    title: str
    headers: tuple[tuple[str, str], ...]  # (short, spelled out), after Place and Entrant
    rows: list[Row]


# Short headers, so a table fits a phone; the template spells them out in <abbr title>.
RR_HEADERS = (("P", "Played"), ("W", "Won"), ("L", "Lost"), ("Games", "Games won–lost"),
              ("+/−", "Game difference"))
SWISS_HEADERS = (("W", "Won"), ("L", "Lost"), ("Byes", "Byes"),
                 ("Bhz", "Buchholz: the match wins of every opponent met"))


def tables(structure: Structure, play: Play, names: Mapping[int, str]) -> list[Table]:
    """The group tables of a round robin, the table of a Swiss stage, none for a tree."""
    if structure.format == Format.ROUND_ROBIN:
        return _groups(play, names)
    if structure.format == Format.SWISS:
        return [_swiss(play, names)]
    return []


def group_name(group: int) -> str:
    """Groups are lettered (A, B, ...) while letters last."""
    return string.ascii_uppercase[group - 1] if 1 <= group <= 26 else str(group)


def _name(names: Mapping[int, str], seed: int) -> str:
    return names.get(seed, f"Seed {seed}")


def _groups(play: Play, names: Mapping[int, str]) -> list[Table]:
    records, played = round_robin.records(play), _played(play)
    result = []
    for group, order in enumerate(round_robin.group_tables(play), start=1):
        rows, place = [], 0
        for seed in order:
            out = seed in play.disqualified
            place += 0 if out else 1
            r = records[seed]
            games, diff = f"{r.won}–{r.lost}", f"{r.difference:+d}" if r.difference else "0"
            rows.append(Row(place, seed, _name(names, seed),
                            (str(played[seed]), str(r.wins), str(played[seed] - r.wins),
                             games, diff), out))
        title = f"Group {group_name(group)} table" if play.bracket.groups > 1 else "Table"
        result.append(Table(f"group-{group}", title, RR_HEADERS, rows))
    return result


def _played(play: Play) -> dict[int, int]:
    """Matches each entrant has finished (a bye is not a match)."""
    count = dict.fromkeys(range(1, play.bracket.entrants + 1), 0)
    for state in play.states:
        if state.status == Status.COMPLETED and state.outcome != Outcome.BYE:
            for seed in state.slots:
                if seed not in (None, BYE):
                    count[seed] += 1
    return count


def _swiss(play: Play, names: Mapping[int, str]) -> Table:
    rows = [Row(r.place, r.seed, _name(names, r.seed),
                (str(r.wins), str(r.losses), str(r.byes), str(r.buchholz)), r.disqualified)
            for r in swiss.table(play)]
    return Table("swiss", "Swiss table", SWISS_HEADERS, rows)
