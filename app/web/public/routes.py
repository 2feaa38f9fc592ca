"""Public pages: the tournament list and tournament pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.web.access import ANYONE, TOURNAMENT_VIEWER, requires

bp = Blueprint("public", __name__)


@bp.get("/")
@requires(ANYONE)
def index():
    """Upcoming, live and completed tournaments."""
    return render_template("pages/public/index.html")


@bp.get("/t/<slug>")
@requires(TOURNAMENT_VIEWER)
def tournament(tournament):
    """A tournament's overview."""
    return render_template("pages/public/tournament.html", tournament=tournament)
