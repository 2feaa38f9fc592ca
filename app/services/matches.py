"""Reading matches: who plays in one, its open reports, its timeline, what follows from it.

The actions on a match live beside this module: `results` (reports, confirmations,
disputes, staff results, corrections) and `match_control` (check-in, start, scheduling,
forfeits, disqualification, resets); `match_actions` holds the steps every action shares.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
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


def label(match: Match) -> str:
    return f"M{match.number + 1}"


def registrations_of(match: Match) -> tuple[Registration | None, Registration | None]:
    """The registrations in slots a and b (None for a bye or an undecided slot)."""
    seeds = [s for s in (match.seed_a, match.seed_b) if s]
    found = {e.seed: e.registration for e in db.session.scalars(select(BracketEntrant).where(
        BracketEntrant.bracket_id == match.bracket_id, BracketEntrant.seed.in_(seeds)))}
    return found.get(match.seed_a or -1), found.get(match.seed_b or -1)


def side_of(user: User | None, match: Match) -> int | None:
    """0 or 1 when `user` plays on that side of the match (roster member or registrant)."""
    if user is None or not user.is_authenticated:
        return None
    for side, registration in enumerate(registrations_of(match)):
        if registration is not None and user.id in users_of(registration):
            return side
    return None


def users_of(registration: Registration) -> set[int]:
    members = db.session.scalars(select(RegistrationMember.user_id).where(
        RegistrationMember.registration_id == registration.id, RegistrationMember.active))
    return {registration.user_id, *members}


def open_reports(match: Match) -> list[ResultSubmission]:
    """Reports of this match still waiting (PENDING), oldest first."""
    return list(db.session.scalars(select(ResultSubmission).where(
        ResultSubmission.match_id == match.id,
        ResultSubmission.status == SubmissionStatus.PENDING).order_by(ResultSubmission.id)
        .execution_options(populate_existing=True)))


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
