"""A small read-only JSON API; errors come back as {"error": {code, message, fields}}."""

from __future__ import annotations

from flask import Blueprint, request

from app.models import Tournament
from app.services import tournaments
from app.services.errors import Invalid
from app.web.access import ANYONE, TOURNAMENT_VIEWER, requires

bp = Blueprint("api", __name__, url_prefix="/api")


def tournament_json(t: Tournament) -> dict:
    return {
        "slug": t.slug, "name": t.name, "game": t.game.name, "format": t.format.value,
        "team_based": t.team_based, "capacity": t.capacity, "status": t.status.value,
        "visibility": t.visibility.value, "starts_at": t.starts_at.isoformat(),
        "checkin_opens_at": t.checkin_opens_at.isoformat() if t.checkin_opens_at else None,
        "checkin_closes_at": t.checkin_closes_at.isoformat() if t.checkin_closes_at else None,
        "rules": {"best_of": t.best_of, "best_of_finals": t.best_of_finals,
                  "best_of_by_round": t.best_of_by_round,
                  "third_place_match": t.third_place_match,
                  "grand_final": t.grand_final.value, "auto_confirm_hours": t.auto_confirm_hours},
        "entry_fee": t.entry_fee, "prize_pool": t.prize_pool, "prize_mode": t.prize_mode.value,
        "prize_distribution": t.prize_distribution,
    }


@bp.get("/tournaments")
@requires(ANYONE)
def tournament_list():
    """Publicly listed tournaments of one tab (upcoming, live, completed)."""
    tab = request.args.get("tab", "upcoming")
    if tab not in tournaments.LISTING_TABS:
        raise Invalid("Unknown tab.", {"tab": f"One of: {', '.join(tournaments.LISTING_TABS)}."})
    rows, more = tournaments.public_listing(tab, request.args.get("game", type=int),
                                            request.args.get("q", "")[:100],
                                            max(1, request.args.get("page", 1, type=int)))
    return {"tournaments": [tournament_json(t) for t in rows], "more": more}


@bp.get("/tournaments/<slug>")
@requires(TOURNAMENT_VIEWER)
def tournament_detail(tournament):
    """One tournament."""
    return tournament_json(tournament)
