"""What spectators follow: the matches in play, about to start, waiting for a result or just
finished, and the tournament's counters — read-only, in a fixed handful of statements.

Everything here is viewer-neutral (the same answer for everyone), because the realtime hub
renders it once per room and sends the same bytes to every spectator. Filters are applied
by the page (`matches_filter`), not here, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchState,
    Tournament,
)
from app.services import brackets

S = MatchState
# The list's groups, in the order the page shows them; a filter names one of these keys.
GROUPS: dict[str, tuple[MatchState, ...]] = {
    "live": (S.LIVE,),
    "result": (S.PENDING_RESULT, S.DISPUTED),
    "upcoming": (S.READY, S.CHECK_IN, S.SCHEDULED),
    "finished": (S.COMPLETED, S.FORFEIT),
}
GROUP_OF = {state: key for key, states in GROUPS.items() for state in states}
OPEN = (*GROUPS["live"], *GROUPS["result"], *GROUPS["upcoming"])
# Bounds, so the pushed list stays small whatever the bracket's size.
OPEN_LIMIT = 80
FINISHED_LIMIT = 12
NEXT_LIMIT = 5


@dataclass(frozen=True, slots=True)
class RoundRef:
    """A round of a stage, as the filter names it (`key`) and as the bracket page says it."""

    key: str  # "1-winners-2": stage, side, round
    stage: int
    format: str
    side: str
    round: int
    winners_rounds: int  # single elimination names its rounds from the final


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One match of the list, with both entrants' names resolved."""

    id: int
    number: int
    group: str  # a key of GROUPS
    state: MatchState
    round: RoundRef
    pool: int | None  # round robin: the group number
    names: tuple[str, str]
    score: tuple[int | None, int | None]
    winner: int | None  # 0 / 1 once decided
    best_of: int
    scheduled_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    stream_url: str | None
    version: int


@dataclass(frozen=True, slots=True)
class Counters:
    entrants: int
    played: int
    total: int
    live: int


@dataclass(slots=True)
class Board:
    """The tournament's published matches as spectators follow them."""

    rows: list[LiveRow] = field(default_factory=list)
    rounds: list[RoundRef] = field(default_factory=list)  # every round, in bracket order
    counters: Counters = Counters(0, 0, 0, 0)
    more_open: bool = False  # open matches beyond OPEN_LIMIT were left out

    def in_group(self, key: str) -> list[LiveRow]:
        return [row for row in self.rows if row.group == key]

    def current_rounds(self) -> list[RoundRef]:
        """The rounds with a match in play or about to start, earliest first."""
        seen: dict[str, RoundRef] = {}
        for row in sorted((r for r in self.rows if r.state in OPEN),
                          key=lambda r: _round_order(r.round)):
            seen.setdefault(row.round.key, row.round)
        return list(seen.values())[:2]

    def next_matches(self) -> list[LiveRow]:
        """The next matches to start: ready first, then in check-in, then by their time."""
        return self.in_group("upcoming")[:NEXT_LIMIT]


def board(tournament: Tournament) -> Board:
    """The published brackets' matches that spectators follow, and the counters."""
    stages = {b.id: b for b in db.session.scalars(select(Bracket).where(
        Bracket.tournament_id == tournament.id, Bracket.finalized_at.is_not(None)))}
    if not stages:
        return Board()
    rounds = _rounds(stages)
    open_rows = _open_matches(list(stages))
    more_open = len(open_rows) > OPEN_LIMIT
    found = open_rows[:OPEN_LIMIT] + _finished_matches(list(stages))
    names = _names(found)
    refs = {r.key: r for r in rounds}
    rows = [_row(m, refs[_key(stages[m.bracket_id], m)], names) for m in found]
    entrants = max(b.entrants for b in stages.values())
    return Board(rows, rounds, _counters(tournament, entrants), more_open)


def _key(bracket: Bracket, match) -> str:
    return f"{bracket.stage}-{match.side}-{match.round}"


def _rounds(stages: dict[int, Bracket]) -> list[RoundRef]:
    """Every (stage, side, round) of the published brackets: one grouped SELECT."""
    found = db.session.execute(select(Match.bracket_id, Match.side, Match.round).where(
        Match.bracket_id.in_(list(stages))).group_by(Match.bracket_id, Match.side, Match.round))
    triples = [(stages[b], side, rnd) for b, side, rnd in found]
    winners = {b.id: max((r for bb, s, r in triples if bb.id == b.id and s == "winners"),
                         default=0) for b in stages.values()}
    refs = [RoundRef(f"{b.stage}-{side}-{rnd}", b.stage, b.format, side, rnd, winners[b.id])
            for b, side, rnd in triples]
    return sorted(refs, key=lambda r: (r.stage, _SIDE_ORDER.get(r.side, 9), r.round))


_SIDE_ORDER = {"group": 0, "swiss": 0, "winners": 1, "losers": 2, "third_place": 3,
               "grand_final": 4}


def _round_order(ref: RoundRef) -> tuple:
    return (ref.stage, ref.round, _SIDE_ORDER.get(ref.side, 9))


# Only the columns the list shows: plain rows, no ORM objects to build and track.
_COLUMNS = (Match.id, Match.bracket_id, Match.number, Match.side, Match.round, Match.group,
            Match.state, Match.seed_a, Match.seed_b, Match.winner_seed, Match.score_a,
            Match.score_b, Match.best_of, Match.scheduled_at, Match.started_at,
            Match.completed_at, Match.stream_url, Match.version)


def _open_matches(bracket_ids: list[int]) -> list:
    """Open matches whose two entrants are known, the most advanced state first."""
    order = case({S.LIVE: 0, S.PENDING_RESULT: 1, S.DISPUTED: 1, S.READY: 2, S.CHECK_IN: 3},
                 value=Match.state, else_=4)
    return list(db.session.execute(select(*_COLUMNS).where(
        Match.bracket_id.in_(bracket_ids), Match.state.in_(OPEN),
        Match.seed_a > 0, Match.seed_b > 0)
        .order_by(order, Match.scheduled_at.is_(None), Match.scheduled_at, Match.bracket_id,
                  Match.number)
        .limit(OPEN_LIMIT + 1)))


def _finished_matches(bracket_ids: list[int]) -> list:
    """The latest played matches (byes are not played), newest first."""
    return list(db.session.execute(select(*_COLUMNS).where(
        Match.bracket_id.in_(bracket_ids), Match.state.in_(GROUPS["finished"]),
        Match.seed_a > 0, Match.seed_b > 0)
        .order_by(Match.completed_at.desc(), Match.id.desc()).limit(FINISHED_LIMIT)))


def _names(found: list) -> dict[tuple[int, int], str]:
    """(bracket id, seed) → entrant name for the listed matches: one SELECT."""
    pairs = {(m.bracket_id, s) for m in found for s in (m.seed_a, m.seed_b) if s}
    if not pairs:
        return {}
    return brackets.seed_names({b for b, _ in pairs}, {s for _, s in pairs})


def _row(m, ref: RoundRef, names: dict[tuple[int, int], str]) -> LiveRow:
    """A list row from a row of `_COLUMNS`."""
    winner = None
    if m.winner_seed is not None and m.state in GROUPS["finished"]:
        winner = 0 if m.winner_seed == m.seed_a else 1 if m.winner_seed == m.seed_b else None
    return LiveRow(
        m.id, m.number, GROUP_OF[m.state], m.state, ref, m.group,
        (names.get((m.bracket_id, m.seed_a), "?"), names.get((m.bracket_id, m.seed_b), "?")),
        (m.score_a, m.score_b), winner, m.best_of, m.scheduled_at, m.started_at,
        m.completed_at, m.stream_url, m.version)


def _counters(tournament: Tournament, entrants: int) -> Counters:
    """Matches played / to play (byes and cancelled ones are not) and live now: one SELECT."""
    # A slot not decided yet (NULL) is not a bye: that match is still to be played.
    bye = or_(func.coalesce(Match.seed_a, -1) == 0, func.coalesce(Match.seed_b, -1) == 0)
    played = and_(Match.state.in_(GROUPS["finished"]), ~bye)
    counted = and_(~bye, Match.state != S.CANCELLED)
    done, total, live = db.session.execute(select(
        func.coalesce(func.sum(case((played, 1), else_=0)), 0),
        func.coalesce(func.sum(case((counted, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Match.state == S.LIVE, 1), else_=0)), 0))
        .join(Bracket, Bracket.id == Match.bracket_id)
        .where(Match.tournament_id == tournament.id, Bracket.finalized_at.is_not(None))).one()
    return Counters(entrants, int(done), int(total), int(live))

