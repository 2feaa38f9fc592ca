"""A player's matches across tournaments: what to play next, and what waits for them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    Bracket,
    BracketEntrant,
    Match,
    MatchState,
    Registration,
    RegistrationMember,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
)
from app.realtime.rooms import matches_room
from app.services import match_progression as progression
from app.services import matches
from app.services.match_rules import FINISHED

SHOWN_FINISHED = 20
MAX_ROOMS = 4  # one page opens one socket of at most four rooms
# What to do first: the states a player must act in, then those under way, then the rest.
ORDER = {MatchState.CHECK_IN: 0, MatchState.READY: 0, MatchState.LIVE: 0,
         MatchState.PENDING_RESULT: 1, MatchState.DISPUTED: 2, MatchState.SCHEDULED: 3,
         MatchState.PENDING: 4}


@dataclass(frozen=True, slots=True)
class Row:
    match: Match
    tournament: Tournament
    side: int  # the player's side (0 / 1)
    opponent: str
    todo: str  # what the player does next, in words


def of(user: User) -> list[Row]:
    """The user's matches in published brackets: open ones first, then the latest finished."""
    entries = _entries(user)
    if not entries:
        return []
    conditions = [((Match.bracket_id == bracket_id) & or_(Match.seed_a == seed,
                                                           Match.seed_b == seed))
                  for bracket_id, seed in entries]
    rows = list(db.session.scalars(select(Match).where(or_(*conditions))
                                   .where(Match.state != MatchState.CANCELLED)
                                   .order_by(Match.id)))
    waiting = _reporting_sides(rows)
    tournaments = {t.id: t for t in db.session.scalars(select(Tournament).where(
        Tournament.id.in_({m.tournament_id for m in rows})))}
    result = []
    for match in rows:
        seed = _seed_in(entries, match)
        side = 0 if match.seed_a == seed else 1
        tournament = tournaments[match.tournament_id]
        result.append(Row(match, tournament, side, _opponent(match, side),
                          _todo(tournament, match, side, waiting.get(match.id))))
    open_rows = sorted((r for r in result if r.match.state not in FINISHED),
                       key=lambda r: (ORDER.get(r.match.state, 5), r.match.scheduled_at is None,
                                      r.match.scheduled_at or r.match.updated_at, r.match.id))
    finished = sorted((r for r in result if r.match.state in FINISHED),
                      key=lambda r: r.match.completed_at or r.match.updated_at, reverse=True)
    return open_rows + finished[:SHOWN_FINISHED]


def rooms(rows: list[Row]) -> list[str]:
    """The rooms whose events may change the list: the live tournaments of its open matches."""
    live = {r.tournament.id for r in rows
            if r.tournament.status == Status.LIVE and r.match.state not in FINISHED}
    return [matches_room(t) for t in sorted(live)[:MAX_ROOMS]]


def _seed_in(entries: set[tuple[int, int]], match: Match) -> int:
    """The user's seed in `match` (one of its two)."""
    return match.seed_a if (match.bracket_id, match.seed_a) in entries else match.seed_b


def _entries(user: User) -> set[tuple[int, int]]:
    """(bracket id, seed) of every published bracket the user plays in."""
    registration_ids = select(RegistrationMember.registration_id).where(
        RegistrationMember.user_id == user.id, RegistrationMember.active)
    rows = db.session.execute(
        select(BracketEntrant.bracket_id, BracketEntrant.seed)
        .join(Bracket, Bracket.id == BracketEntrant.bracket_id)
        .join(Registration, Registration.id == BracketEntrant.registration_id)
        .where(Bracket.finalized_at.is_not(None),
               or_(Registration.user_id == user.id, Registration.id.in_(registration_ids))))
    return {(bracket_id, seed) for bracket_id, seed in rows}


def _reporting_sides(rows: list[Match]) -> dict[int, int | None]:
    """For each match with a report waiting: the side that reported."""
    ids = [m.id for m in rows if m.state == MatchState.PENDING_RESULT]
    if not ids:
        return {}
    return dict(db.session.execute(select(ResultSubmission.match_id, ResultSubmission.side)
                                   .where(ResultSubmission.match_id.in_(ids),
                                          ResultSubmission.status == SubmissionStatus.PENDING)
                                   .order_by(ResultSubmission.id.desc())).all())


def _opponent(match: Match, side: int) -> str:
    regs = matches.registrations_of(match)
    other = regs[1 - side]
    if other is not None:
        return other.name
    return "Bye" if (match.seed_b if side == 0 else match.seed_a) == 0 else "To be decided"


def _todo(tournament: Tournament, match: Match, side: int, reporter: int | None) -> str:
    state = match.state
    checked = (match.checked_in_a_at, match.checked_in_b_at)
    if tournament.status != Status.LIVE and state not in FINISHED:
        return "Waiting for the tournament to start"
    state = progression.clock_state(tournament, match)  # the row moves at the first act
    if state == MatchState.CHECK_IN:
        return "Check in now" if checked[side] is None else "Checked in; waiting for your opponent"
    if state == MatchState.READY:
        return ("Both here: start the match and report the score" if tournament.match_checkin
                else "Play the match and report the score")
    if state == MatchState.LIVE:
        return "Playing: report the score when it is over"
    if state == MatchState.PENDING_RESULT:
        return ("Waiting for your opponent to confirm your report" if reporter == side
                else "Your opponent reported a score: confirm or reject it")
    if state == MatchState.DISPUTED:
        return "Disputed: the staff will settle it"
    if state == MatchState.SCHEDULED:
        return "Scheduled: check-in opens before the start"
    if state == MatchState.PENDING:
        return "Waiting for your opponent to be decided"
    won = match.winner_seed is not None and match.winner_seed == (
        match.seed_a if side == 0 else match.seed_b)
    return "Won" if won else "Lost" if match.winner_seed else "Over"
