"""Public pages: the tournament list and tournament pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Game
from app.services import live_matches, permissions, tournaments
from app.web.access import ANYONE, TOURNAMENT_VIEWER, requires
from app.web.public import live_view
from app.web.registrations.context import page_context

bp = Blueprint("public", __name__)
bp.record_once(lambda state: live_view.register(state.app))


@bp.get("/")
@requires(ANYONE)
def index():
    """Upcoming, live and completed tournaments, filtered by game and searched by name."""
    tab = request.args.get("tab", "upcoming")
    tab = tab if tab in tournaments.LISTING_TABS else "upcoming"
    game_id = request.args.get("game", type=int)
    search = request.args.get("q", "")[:100]
    page = max(1, request.args.get("page", 1, type=int))
    rows, more = tournaments.public_listing(tab, game_id, search, page)
    games = db.session.scalars(select(Game).order_by(Game.name))
    return render_template("pages/public/index.html", tournaments=rows, more=more, tab=tab,
                           game_id=game_id, search=search, page=page, games=games,
                           tabs=list(tournaments.LISTING_TABS))


@bp.get("/t/<slug>")
@requires(TOURNAMENT_VIEWER)
def tournament(tournament):
    """A tournament's overview, rules, schedule and participants."""
    return render_template("pages/public/tournament.html", tournament=tournament,
                           is_staff=permissions.can_coordinate(current_user, tournament),
                           board=live_matches.board(tournament),
                           **page_context(tournament, current_user))


@bp.get("/t/<slug>/matches")
@requires(TOURNAMENT_VIEWER)
def matches(tournament):
    """The matches live, about to start, waiting for a result or just finished; filterable."""
    board = live_matches.board(tournament)
    filters, said = live_view.parse(request.args, board)
    return render_template("pages/public/matches.html", tournament=tournament, board=board,
                           filters=filters, said=said)
