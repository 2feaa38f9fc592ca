"""demo-cup partly played, by its players and staff through the match services.

Winners round 1 is over; losers round 1 and winners round 2 are under way, and the matches
still open show every state a match goes through: two scheduled for later, one waiting for
check-in, one with one side checked in, one ready, one live, one report waiting for the
opponent's confirmation and one disputed report for the staff. `flask demo live` plays on
from here. Idempotent: once any demo-cup match has a timeline, the tournament is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from app import demo_players as players
from app.extensions import db
from app.models import Match, MatchEvent, Status, Tournament, utcnow
from app.services import brackets

# Engine match numbers (shown as M<number + 1>), in the order they are played to the end:
# winners round 1, the first half of losers round 1, the first two of winners round 2.
PLAYED = [*range(16), 31, 32, 33, 34, 16, 17]
LATER = {22: 60, 23: 90}  # winners round 2: scheduled this many minutes from now


def load() -> dict[str, int]:
    """Play demo-cup up to its showcase state, unless it has been played already."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == "demo-cup"))
    if tournament is None or tournament.status != Status.LIVE or _started(tournament):
        return {"match results": 0}
    bracket = brackets.current(tournament)
    if bracket is None or not bracket.finalized:
        return {"match results": 0}

    def row(number: int) -> Match:
        return db.session.scalar(select(Match).where(Match.bracket_id == bracket.id,
                                                     Match.number == number))

    for number in PLAYED:
        _play(tournament, row(number))
    for number, show in _SHOWN.items():
        show(tournament, row(number))
    now = utcnow().replace(second=0, microsecond=0)
    for number, minutes in LATER.items():
        players.schedule(tournament, row(number), now + timedelta(minutes=minutes))
    return {"match results": len(PLAYED)}


def _started(tournament: Tournament) -> bool:
    return db.session.scalar(select(MatchEvent.id).where(
        MatchEvent.tournament_id == tournament.id).limit(1)) is not None


def _play(tournament: Tournament, match: Match) -> None:
    _ready(tournament, match)
    players.report(tournament, match)  # from READY a report starts the match too
    players.confirm(match)


def _ready(_tournament: Tournament, match: Match) -> None:
    players.check_in(match, 0)
    players.check_in(match, 1)


def _live(tournament: Tournament, match: Match) -> None:
    _ready(tournament, match)
    players.start(match)


def _waiting(tournament: Tournament, match: Match) -> None:
    _live(tournament, match)
    players.report(tournament, match)


def _disputed(tournament: Tournament, match: Match) -> None:
    _live(tournament, match)
    players.report(tournament, match, mistaken=True)
    players.reject(tournament, match)


_SHOWN: dict[int, Callable[[Tournament, Match], None]] = {
    18: _live,
    19: lambda _t, match: players.check_in(match, 0),  # the other side has not shown up yet
    20: _ready,
    35: _waiting,  # losers round 1: the opponent has not answered the report yet
    36: _disputed,
}
