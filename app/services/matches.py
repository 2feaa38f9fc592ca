"""Reading matches: who plays in one, its open reports, its timeline, what follows from it.

The actions on a match live beside this module: `results` (reports, confirmations,
disputes, staff results, corrections) and `match_control` (check-in, start, scheduling,
forfeits, disqualification, resets); `match_actions` holds the steps every action shares.
"""

from __future__ import annotations

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    Bracket,
    BracketEntrant,
    Match,
    MatchEvent,
    Registration,
    RegistrationMember,
    ResultSubmission,
    SubmissionStatus,
    Tournament,
    User,
)
from app.services import match_progression as progression
from app.services.errors import Conflict, NotFound
from app.services.match_rules import FINISHED, STARTED

_MEMO = "match_sides"  # session.info key: answers kept for the transaction
# Statements every action runs, built once (with their cache keys) instead of per call.
_SIDE_USERS = (
    select(BracketEntrant.seed, Registration.user_id, RegistrationMember.user_id)
    .join(Registration, Registration.id == BracketEntrant.registration_id)
    .outerjoin(RegistrationMember, (RegistrationMember.registration_id == Registration.id)
               & RegistrationMember.active)
    .where(BracketEntrant.bracket_id == bindparam("bracket_id"),
           BracketEntrant.seed.in_(bindparam("seeds", expanding=True))))
_OPEN_REPORTS = (
    select(ResultSubmission).where(ResultSubmission.match_id == bindparam("match_id"),
                                   ResultSubmission.status == SubmissionStatus.PENDING)
    .order_by(ResultSubmission.id).execution_options(populate_existing=True))
REAL_RESULTS = ("played", "forfeit", "double_forfeit", "disqualified")


class MatchChanged(Conflict):
    """The match changed since the page was rendered (carries the match as it is now)."""

    def __init__(self, match: Match) -> None:
        super().__init__("This match changed since you opened it; here is its current state.")
        self.match = match


class DependentsStarted(Conflict):
    """A correction or reset would undo matches that have started (listed in `.matches`)."""

    def __init__(self, matches: list[Match]) -> None:
        names = ", ".join(label(m) for m in matches)
        super().__init__(f"Matches that follow from this one have started: {names}. "
                         "Reset them first, then correct this result.")
        self.matches = matches


def get(tournament: Tournament, match_id: int) -> Match:
    """Match `match_id` of this tournament; NotFound for another tournament's."""
    match = db.session.get(Match, match_id)
    if match is None or match.tournament_id != tournament.id:
        raise NotFound("There is no such match in this tournament.")
    return match


def bracket_of(match: Match) -> Bracket:
    """The bracket (stage) of `match`, kept for the transaction (asked by every step)."""
    key = ("bracket", match.bracket_id)
    memo = _memo()
    if key not in memo:  # the session's identity map holds it weakly: it would be read again
        memo[key] = db.session.get(Bracket, match.bracket_id)
    return memo[key]


def keep_bracket(bracket: Bracket) -> None:
    """`bracket_of` its matches is this object for the rest of the transaction (one just read
    under a lock, say)."""
    _memo()[("bracket", bracket.id)] = bracket


def label(match: Match) -> str:
    return f"M{match.number + 1}"


def registrations_of(match: Match) -> tuple[Registration | None, Registration | None]:
    """The registrations in slots a and b (None for a bye or an undecided slot).

    Asked many times per request (who may act, whom to notify, what the page shows), so
    the answer is kept for the rest of the transaction, by the slots it was asked for.
    """
    key = ("sides", match.bracket_id, match.seed_a, match.seed_b)
    memo = _memo()
    if key not in memo:
        seeds = [s for s in (match.seed_a, match.seed_b) if s]
        found = {e.seed: e.registration for e in db.session.scalars(
            select(BracketEntrant).where(BracketEntrant.bracket_id == match.bracket_id,
                                         BracketEntrant.seed.in_(seeds)))} if seeds else {}
        memo[key] = (found.get(match.seed_a or -1), found.get(match.seed_b or -1))
    return memo[key]


def side_of(user: User | None, match: Match) -> int | None:
    """0 or 1 when `user` plays on that side of the match (roster member or registrant)."""
    if user is None or not user.is_authenticated:
        return None
    for side, users in enumerate(side_users(match)):
        if user.id in users:
            return side
    return None


def side_users(match: Match) -> tuple[set[int], set[int]]:
    """The users of slots a and b (registrant and active roster; empty for a bye or an
    undecided slot): who may act and whom to notify, in one query and no objects (every
    action asks it; kept for the transaction like `registrations_of`)."""
    key = ("side_users", match.bracket_id, match.seed_a, match.seed_b)
    memo = _memo()
    if key not in memo:
        seeds = [s for s in (match.seed_a, match.seed_b) if s]
        found: dict[int, set[int]] = {}
        if seeds:
            for seed, owner, user_id in db.session.execute(
                    _SIDE_USERS, {"bracket_id": match.bracket_id, "seeds": seeds}):
                users = found.setdefault(seed, {owner})
                if user_id is not None:
                    users.add(user_id)
        memo[key] = (found.get(match.seed_a or -1, set()), found.get(match.seed_b or -1, set()))
    return memo[key]


def _memo() -> dict:
    return db.session.info.setdefault(_MEMO, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_MEMO, None)


def open_reports(match: Match) -> list[ResultSubmission]:
    """Reports of this match still waiting (PENDING), oldest first."""
    return list(db.session.scalars(_OPEN_REPORTS, {"match_id": match.id}))


def timeline(match: Match) -> list[MatchEvent]:
    return list(db.session.scalars(select(MatchEvent).where(MatchEvent.match_id == match.id)
                                   .order_by(MatchEvent.id)))


def started_dependents(match: Match) -> list[Match]:
    """Matches fed by this one (through byes, transitively) that have started or have a result.

    These are what a correction of `match` would undo; they must be reset first.
    """
    blocking: list[Match] = []
    numbers = [n for n in (match.winner_to, match.loser_to) if n is not None]
    while numbers:
        rows = progression.rows_by_number(match.bracket_id, numbers)
        numbers = []
        for row in sorted(rows.values(), key=lambda r: r.number):
            if row.state in STARTED or (row.state in FINISHED and row.outcome in REAL_RESULTS):
                blocking.append(row)
            elif row.outcome == "bye":  # completed by a bye: undone with it, look further
                numbers += [n for n in (row.winner_to, row.loser_to) if n is not None]
    return blocking
