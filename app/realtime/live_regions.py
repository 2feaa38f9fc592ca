"""The spectator regions of a tournament's pages: the overview (counters, current round, next
matches, champion) to the tournament page's room, the live matches list to its own room.

Both come from one `live_matches.board` read and are rendered once per room per event, then
the same bytes go to every spectator. The list is pushed unfiltered: a page with filters
hides rows itself (see app/web/public/live_view.py), so no fragment depends on the viewer.
Registered at import; `app.realtime.fragments` imports this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import render_template

from app.extensions import db
from app.models import Tournament
from app.realtime.feed import Event
from app.realtime.fragments import Fragment, renderer, snapshot
from app.realtime.rooms import matches_room, tournament_room
from app.services import live_matches
from app.web.public.live_view import Filters

MATCH_EVENTS = ("match_updated", "match_completed")


@renderer(*MATCH_EVENTS, "bracket_generated", "bracket_updated", "tournament_updated",
          "registrations_changed")
def _spectator_regions(event: Event) -> dict[str, Fragment]:
    """The overview to the tournament page's room, the list to the live list's room.

    A match changed as a consequence of another (`follow`) is drawn by that one's event,
    which committed in the same transaction: once per transaction is enough."""
    if event.type in MATCH_EVENTS and event.payload.get("follow"):
        return {}
    tournament = db.session.get(Tournament, event.tournament_id) if event.tournament_id else None
    if tournament is None:
        return {}
    board = functools.cache(lambda: live_matches.board(tournament))  # one read, two rooms
    return {tournament_room(tournament.id): lambda: overview(tournament, board()),
            matches_room(tournament.id): lambda: matches_list(tournament, board())}


@snapshot("tournament")
def _overview_snapshot(tournament_id: int) -> list[Fragment]:
    return _snapshot(tournament_id, overview)


@snapshot("matches")
def _matches_snapshot(tournament_id: int) -> list[Fragment]:
    return _snapshot(tournament_id, matches_list)


def _snapshot(tournament_id: int,
              draw: Callable[[Tournament, live_matches.Board], str]) -> list[Fragment]:
    tournament = db.session.get(Tournament, tournament_id)
    if tournament is None:
        return []
    return [lambda: draw(tournament, live_matches.board(tournament))]


def overview(tournament: Tournament, board: live_matches.Board) -> str:
    """The overview as it is now, with `oob=True`."""
    return render_template("partials/tournament_overview.html", tournament=tournament,
                           board=board, oob=True)


def matches_list(tournament: Tournament, board: live_matches.Board) -> str:
    """The unfiltered live list as it is now, with `oob=True`."""
    return render_template("partials/live_matches.html", tournament=tournament, board=board,
                           filters=Filters(), oob=True)
