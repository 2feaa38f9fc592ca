"""The organizer's list of a tournament's matches: filters, names, and what each waits for."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchState,
    ResultSubmission,
    SubmissionStatus,
    Tournament,
)
from app.services import brackets

# Open states first, as a coordinator works through them; then what is yet to come; then done.
STATE_ORDER = [MatchState.DISPUTED, MatchState.PENDING_RESULT, MatchState.LIVE,
               MatchState.READY, MatchState.CHECK_IN, MatchState.SCHEDULED, MatchState.PENDING,
               MatchState.COMPLETED, MatchState.FORFEIT, MatchState.CANCELLED]


@dataclass(frozen=True, slots=True)
class Filters:
    round: str = ""  # "<side>:<round>", e.g. "losers:3"
    state: str = ""  # a MatchState value
    coordinator: str = ""  # a user id, or "none"
    q: str = ""  # part of an entrant's name


NOTHING = Filters(state="-")  # matches no row: what an invalid filter shows


@dataclass(slots=True)
class Listing:
    bracket: Bracket | None
    rows: list[Match] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # seed -> entrant name
    reports: dict[int, ResultSubmission] = field(default_factory=dict)  # match id -> waiting
    total: int = 0


def stage(tournament: Tournament) -> Bracket | None:
    """The stage being played: the playoffs once generated, else the bracket."""
    return brackets.current(tournament, 2) or brackets.current(tournament)


def rounds(bracket: Bracket) -> list[tuple[str, int]]:
    """Every (side, round) of the stage, in playing order."""
    found = db.session.execute(select(Match.side, Match.round).where(
        Match.bracket_id == bracket.id).distinct()).all()
    return sorted(((side, round_) for side, round_ in found), key=_round_order)


def listing(tournament: Tournament, filters: Filters) -> Listing:
    """The current stage's matches that pass `filters`, open ones first (four queries)."""
    bracket = stage(tournament)
    if bracket is None:
        return Listing(None)
    rows = [r for r in db.session.scalars(select(Match).where(Match.bracket_id == bracket.id)
                                          .order_by(Match.number))
            if not (r.state == MatchState.CANCELLED and r.outcome is None)]  # unneeded resets
    names = {e.seed: e.registration.name for e in bracket.seeds}
    result = Listing(bracket, names=names, total=len(rows))
    shown = [r for r in rows if _passes(r, filters, names)]
    rank = {state: i for i, state in enumerate(STATE_ORDER)}
    shown.sort(key=lambda r: (rank[r.state], r.scheduled_at is None,
                              r.scheduled_at.timestamp() if r.scheduled_at else 0, r.number))
    result.rows = shown
    result.reports = _waiting_reports([r.id for r in shown
                                       if r.state == MatchState.PENDING_RESULT])
    return result


def _passes(row: Match, filters: Filters, names: dict[int, str]) -> bool:
    if filters.round and filters.round != f"{row.side}:{row.round}":
        return False
    if filters.state and filters.state != row.state.value:
        return False
    if filters.coordinator == "none" and row.coordinator_id is not None:
        return False
    if filters.coordinator.isdigit() and row.coordinator_id != int(filters.coordinator):
        return False
    if filters.q:
        needle = filters.q.casefold()
        return any(needle in names.get(seed or -1, "").casefold()
                   for seed in (row.seed_a, row.seed_b))
    return True


SIDE_ORDER = {"winners": 0, "group": 0, "swiss": 0, "losers": 1, "third_place": 2,
              "grand_final": 3}


def _round_order(key: tuple[str, int]) -> tuple[int, int]:
    side, round_ = key
    return SIDE_ORDER.get(side, 4), round_


def _waiting_reports(match_ids: list[int]) -> dict[int, ResultSubmission]:
    if not match_ids:
        return {}
    return {r.match_id: r for r in db.session.scalars(select(ResultSubmission).where(
        ResultSubmission.match_id.in_(match_ids),
        ResultSubmission.status == SubmissionStatus.PENDING).order_by(ResultSubmission.id))}
