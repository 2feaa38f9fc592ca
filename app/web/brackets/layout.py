"""Where each match card of a bracket drawing sits, and the connector lines between them.

Computed on the server from the structure alone (round, position, feeders), so the drawing is
right without JavaScript and costs the browser no layout work: every card has a fixed size, a
column per round, and a `top` in pixels; a match is centred on the matches of its section
that feed it, and a connector joins a match to the slot of the match its winner goes to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.brackets.model import Match as EngineMatch

# Fixed sizes (px, before the viewer's zoom), mirrored by static/css/bracket.css: a card is a
# 20-px head and two 28-px slots; a column is a card plus the gap its connectors cross.
CARD_W = 200
CARD_H = 78
COL_GAP = 44
ROW_GAP = 12
HEAD_H = 34  # the sticky round header above each column
PAD = 8
SLOT_Y = (35, 63)  # the middle of slot 0 and slot 1, from the top of a card


@dataclass(frozen=True, slots=True)
class Connector:
    """A line from match `source` to the slot of match `target` its winner goes to."""

    source: int
    target: int
    d: str  # the SVG path


class Placed(Protocol):
    """What the layout reads and writes on a drawing's column (see view.Column)."""

    cards: Sequence
    x: int
    tops: list[int]


@dataclass(slots=True)
class Geometry:
    width: int
    height: int
    connectors: list[Connector]


def place(columns: Sequence[Placed], matches: Sequence[EngineMatch], *,
          connect: bool = True) -> Geometry:
    """Set each column's x and its cards' tops; return the canvas size and its connectors."""
    centres: dict[int, float] = {}
    tops: dict[int, int] = {}
    xs: dict[int, int] = {}
    bottom = 0
    for index, column in enumerate(columns):
        column.x = PAD + index * (CARD_W + COL_GAP)
        column.tops = []
        floor = 0
        for card in column.cards:
            feeders = [centres[s.ref] for s in matches[card.number].slots
                       if s.kind == "winner" and s.ref in centres] if connect else []
            top = max(floor, round(sum(feeders) / len(feeders) - CARD_H / 2)) if feeders \
                else floor
            column.tops.append(top)
            centres[card.number], tops[card.number] = top + CARD_H / 2, top
            xs[card.number] = column.x
            floor = top + CARD_H + ROW_GAP
        bottom = max(bottom, floor - ROW_GAP)
    width = 2 * PAD + max(len(columns) * (CARD_W + COL_GAP) - COL_GAP, 0)
    lines = _connectors(matches, tops, xs) if connect else []
    return Geometry(width, HEAD_H + bottom + PAD, lines)


def _connectors(matches: Sequence[EngineMatch], tops: Mapping[int, int],
                xs: Mapping[int, int]) -> list[Connector]:
    lines = []
    for number, top in tops.items():
        link = matches[number].winner_to
        if link is None or link.match not in tops:
            continue
        x1, y1 = xs[number] + CARD_W, HEAD_H + top + CARD_H // 2
        x2, y2 = xs[link.match], HEAD_H + tops[link.match] + SLOT_Y[link.slot]
        middle = x1 + COL_GAP // 2
        lines.append(Connector(number, link.match, f"M{x1} {y1}H{middle}V{y2}H{x2}"))
    return lines
