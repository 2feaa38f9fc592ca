"""The live matches list's words and filters: round names, state names, what a filter shows.

The list region is pushed unfiltered to every spectator (one rendering per room), so a
filter only hides rows: the page hides them with `hidden` when it is rendered, and
static/js/app.js applies the same rule after every push and as the viewer types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from markupsafe import Markup

from app.brackets.model import Format, Side
from app.services.live_matches import GROUPS, Board, LiveRow, RoundRef
from app.web.brackets.view import group_name, title_of

GROUP_LABELS = {"live": "Live now", "result": "Waiting for a result",
                "upcoming": "About to start", "finished": "Recently finished"}
# The state filter's options: short enough for a phone's half-width select.
STATE_OPTIONS = {"live": "Live", "result": "Result due", "upcoming": "Upcoming",
                 "finished": "Finished"}
SEARCH_MAX = 60


def round_label(ref: RoundRef) -> str:
    """The round's name as the bracket page says it ("Semi-finals", "Losers round 2")."""
    if ref.side == Side.GROUP:
        label = f"Groups, round {ref.round}"
    else:
        label = title_of(Format(ref.format), Side(ref.side), ref.round, ref.winners_rounds)
    return f"Playoffs: {label}" if ref.stage == 2 else label


def search_text(row: LiveRow) -> str:
    """What the entrant search looks in: both names, lower case (the page's JS does the same)."""
    return "\n".join(name.lower() for name in row.names)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the viewer asked to see; empty values show everything."""

    state: str = ""
    round: str = ""
    q: str = ""

    def any_shown(self, rows: list[LiveRow]) -> bool:
        return any(self.shows(row) for row in rows)

    def shows(self, row: LiveRow) -> bool:
        """The one rule, kept in step with `applyLiveFilter` in static/js/app.js."""
        return ((not self.state or row.group == self.state)
                and (not self.round or row.round.key == self.round)
                and (not self.q or self.q.lower() in search_text(row)))


def parse(args: Mapping[str, str], board: Board) -> tuple[Filters, list[str]]:
    """The filters from the query string; a value that names nothing is dropped, and said."""
    said: list[str] = []
    state = args.get("state", "").strip()
    if state and state not in GROUPS:
        said.append(f"There is no state “{state[:30]}”: showing every state.")
        state = ""
    round_ = args.get("round", "").strip()
    if round_ and round_ not in {r.key for r in board.rounds}:
        said.append("That round is not in this tournament: showing every round.")
        round_ = ""
    q = " ".join(args.get("q", "").split())
    if len(q) > SEARCH_MAX:
        said.append(f"The search is cut to its first {SEARCH_MAX} characters.")
        q = q[:SEARCH_MAX]
    return Filters(state, round_, q), said


def clock(value: datetime) -> Markup:
    """A short <time> ("4 Dec, 18:40"); static/js/app.js shows it in the viewer's zone."""
    return Markup(f'<time datetime="{value.isoformat()}" data-local="clock">'
                  f'{value.strftime("%d %b, %H:%M UTC")}</time>')


def register(app: Flask) -> None:
    """The words and helpers the list's partials use (pages and pushed fragments alike)."""
    app.jinja_env.filters.update(round_label=round_label, search_text=search_text,
                                 group_letter=group_name, clock=clock)
    app.jinja_env.globals.update(live_group_labels=GROUP_LABELS, live_state_options=STATE_OPTIONS,
                                 no_filters=Filters())
