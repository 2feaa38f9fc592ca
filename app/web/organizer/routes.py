"""Organizer panel: tournaments, staff, status, audit log."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.web.access import SIGNED_IN, requires

bp = Blueprint("organizer", __name__, url_prefix="/manage")


@bp.get("/")
@requires(SIGNED_IN)
def dashboard():
    """Tournaments the user organizes."""
    return render_template("pages/organizer/dashboard.html")
