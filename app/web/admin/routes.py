"""Site administration: games."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.web.access import SITE_ADMIN, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/games")
@requires(SITE_ADMIN)
def games():
    """List of games."""
    return render_template("pages/admin/games.html")
