"""Teams: create, invite, join, leave, captaincy."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.web.access import SIGNED_IN, requires

bp = Blueprint("teams", __name__, url_prefix="/teams")


@bp.get("/")
@requires(SIGNED_IN)
def index():
    """The user's teams and invitations."""
    return render_template("pages/teams/index.html")
