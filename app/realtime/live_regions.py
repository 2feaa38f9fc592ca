"""The spectator regions of a tournament's pages, pushed to its room: the overview (counters,
current round, next matches, champion) and the live matches list.

Both come from one `live_matches.board` read and are rendered once per room per event, then
the same bytes go to every spectator. The list is pushed unfiltered: a page with filters
hides rows itself (see app/web/public/live_view.py), so no fragment depends on the viewer.
Registered at import; `app.realtime.fragments` imports this module.
"""

from __future__ import annotations

from flask import render_template

from app.extensions import db
from app.models import Tournament
from app.realtime.feed import Event
from app.realtime.fragments import Fragment, renderer
from app.realtime.rooms import tournament_room
from app.services import live_matches
from app.web.public.live_view import Filters

MATCH_EVENTS = ("match_updated", "match_completed")


@renderer(*MATCH_EVENTS, "bracket_generated", "bracket_updated", "tournament_updated",
          "registrations_changed")
def _spectator_regions(event: Event) -> dict[str, Fragment]:
    """A match changed as a consequence of another (`follow`) is drawn by that one's event,
    which committed in the same transaction: once per transaction is enough."""
    if event.type in MATCH_EVENTS and event.payload.get("follow"):
        return {}
    tournament = db.session.get(Tournament, event.tournament_id) if event.tournament_id else None
    if tournament is None:
        return {}
    return {tournament_room(tournament.id): lambda: regions(tournament)}


def regions(tournament: Tournament) -> str:
    """The overview and the live list as they are now, with `oob=True`."""
    board = live_matches.board(tournament)
    return (render_template("partials/tournament_overview.html", tournament=tournament,
                            board=board, oob=True)
            + render_template("partials/live_matches.html", tournament=tournament,
                              board=board, filters=Filters(), oob=True))
