"""What a match page shows: the part everyone sees (pushed live) and the viewer's own part.

`panel` is viewer-neutral — the same bytes go to every socket of the match's room; `seat`
is what this viewer may do (a side's forms, the lobby, the staff link), rendered per request
and re-fetched by the page when the pushed panel says the match changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.brackets.model import Format, Side
from app.extensions import db
from app.models import (
    LOBBY_FIELDS,
    Bracket,
    Match,
    MatchEvent,
    MatchState,
    Registration,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
    utcnow,
)
from app.services import match_progression as progression
from app.services import match_schedule, matches, permissions
from app.services.match_rules import FINISHED, Action, allowed
from app.web.brackets.view import group_name, title_of

STATE_LABELS = {
    MatchState.PENDING: "Waiting for entrants",
    MatchState.SCHEDULED: "Scheduled",
    MatchState.CHECK_IN: "Check-in open",
    MatchState.READY: "Ready",
    MatchState.LIVE: "Live",
    MatchState.PENDING_RESULT: "Result reported",
    MatchState.DISPUTED: "Disputed",
    MatchState.COMPLETED: "Completed",
    MatchState.FORFEIT: "Forfeit",
    MatchState.CANCELLED: "Cancelled",
}
OUTCOME_NOTES = {"bye": "Decided by a bye", "forfeit": "Won by forfeit",
                 "double_forfeit": "Double forfeit: nobody advances",
                 "disqualified": "Won by disqualification"}


@dataclass(frozen=True, slots=True)
class Corner:
    """One side (corner) of the match as everyone sees it."""

    name: str
    seed: int | None
    known: bool  # an entrant (not a bye, not "winner of M12" yet)
    checked_in: bool
    score: int | None
    won: bool


@dataclass(frozen=True, slots=True)
class Entry:
    """A line of the match timeline."""

    at: datetime
    text: str


@dataclass(slots=True)
class Panel:
    match: Match
    tournament: Tournament
    title: str  # "Winners round 2 · M12"
    state_label: str
    sides: tuple[Corner, Corner]
    note: str | None  # how it was decided, what it waits for
    report: ResultSubmission | None  # the report waiting for confirmation
    reports: list[ResultSubmission] = field(default_factory=list)  # disputed ones
    coordinator: str | None = None
    timeline: list[Entry] = field(default_factory=list)
    checkin_opens: datetime | None = None


@dataclass(slots=True)
class Seat:
    """What the viewer may do on this match."""

    side: int | None  # 0 / 1 when the viewer plays in it
    staff: bool
    names: tuple[str, str] = ("Side A", "Side B")
    can_check_in: bool = False
    can_start: bool = False
    can_report: bool = False
    can_answer: bool = False  # confirm or reject the opponent's report
    own_report: ResultSubmission | None = None
    lobby: list[tuple[str, str]] = field(default_factory=list)
    no_shows: list[int] | None = None
    checkin: bool = True  # the tournament's players check in to each match


def panel(match: Match) -> Panel:
    """The viewer-neutral view of `match`, from the database as it is now."""
    tournament = db.session.get(Tournament, match.tournament_id)
    bracket = matches.bracket_of(match)
    regs = matches.registrations_of(match)
    waiting = matches.open_reports(match)
    report = waiting[0] if match.state == MatchState.PENDING_RESULT and waiting else None
    disputed = _disputed_reports(match) if match.state == MatchState.DISPUTED else []
    coordinator = db.session.get(User, match.coordinator_id) if match.coordinator_id else None
    opens = progression.checkin_opens(tournament, match)
    return Panel(
        match, tournament, f"{round_title(bracket, match)} · {matches.label(match)}",
        state_label(match, tournament, bracket),
        (_side(match, 0, regs[0]), _side(match, 1, regs[1])),
        _note(match), report, disputed,
        coordinator.display_name if coordinator else None, timeline(match), opens)


def state_label(match: Match, tournament: Tournament, bracket: Bracket) -> str:
    """The state as a spectator understands it: a match without a time can be checked into
    as soon as the event is live; before that it waits for the start."""
    if match.state in (MatchState.SCHEDULED, MatchState.CHECK_IN) and (
            tournament.status != Status.LIVE or not bracket.finalized):
        return "Waiting for the start"
    return STATE_LABELS[progression.clock_state(tournament, match)]


def seat(match: Match, user: User | None) -> Seat:
    """What `user` may do on `match` now (nothing for spectators)."""
    tournament = db.session.get(Tournament, match.tournament_id)
    side = matches.side_of(user, match)
    staff = permissions.can_coordinate(user, tournament)
    result = Seat(side, staff)
    if side is None and not staff:
        return result
    result.names = side_names(match)
    if staff:
        result.no_shows = match_schedule.no_shows(match)
    result.lobby = [(LOBBY_FIELDS.get(k, k), v) for k, v in (match.lobby or {}).items()]
    if side is None:
        return result
    state, result.checkin = progression.clock_state(tournament, match), tournament.match_checkin
    checked = match.checked_in_a_at if side == 0 else match.checked_in_b_at
    result.can_check_in = (tournament.match_checkin and allowed(state, Action.CHECK_IN)
                           and checked is None)
    result.can_start = allowed(state, Action.START)
    result.can_report = allowed(state, Action.REPORT)
    if state == MatchState.PENDING_RESULT:
        waiting = matches.open_reports(match)
        mine = [r for r in waiting if r.side == side]
        result.own_report = mine[0] if mine else None
        result.can_answer = bool(waiting) and not mine
    return result


def side_names(match: Match) -> tuple[str, str]:
    """The two sides' names, or where they come from ("Winner of M3", "Bye")."""
    regs = matches.registrations_of(match)
    return _side(match, 0, regs[0]).name, _side(match, 1, regs[1]).name


def round_title(bracket: Bracket, match: Match) -> str:
    """The round's name as the bracket page says it ("Semi-finals", "Losers round 3")."""
    return round_name(bracket, match.side, match.round, match.group)


def round_name(bracket: Bracket, side: str, round_: int, group: int | None = None) -> str:
    """`round_title` of a round given by its side and number."""
    fmt = Format(bracket.format)
    if side == Side.GROUP and group:
        return f"Group {group_name(group)}, round {round_}"
    winners = 0
    if fmt == Format.SINGLE_ELIMINATION:
        winners = db.session.scalar(select(func.max(Match.round)).where(
            Match.bracket_id == bracket.id, Match.side == Side.WINNERS.value)) or 0
    return title_of(fmt, Side(side), round_, winners)


def timeline(match: Match) -> list[Entry]:
    """The match's timeline in words, oldest first."""
    events = matches.timeline(match)
    actors = {u.id: u.display_name for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_id for e in events if e.actor_id})))}
    regs = matches.registrations_of(match)
    return [Entry(e.created_at, describe(e, actors.get(e.actor_id), regs)) for e in events]


def describe(event: MatchEvent, actor: str | None,
             regs: tuple[Registration | None, Registration | None]) -> str:
    """One timeline entry in words: who did what."""
    data = event.data or {}
    who = actor or "Bracketeer"
    side = data.get("side")
    side_name = (regs[side].name if side in (0, 1) and regs[side] else None)
    score = "–".join(str(s) for s in data.get("score", [])) or None
    reason = f": {data['reason'].rstrip('.')}" if data.get("reason") else ""
    texts = {
        "entrants_known": "Both entrants are known.",
        "check_in_opened": "Check-in opened.",
        "play_opened": "Its time came: the match can be played.",
        "check_in_dropped": "Match check-in was turned off: the match can be played.",
        "checked_in": f"{side_name or who} checked in.",
        "started": "The match started." if data.get("implicit") else f"{who} started the match.",
        "reported": f"{who} reported {score}.",
        "confirmed": f"{who} confirmed {score}." if not data.get("same_report")
        else f"{who} reported the same score: {score} confirmed.",
        "auto_confirmed": f"Nobody answered before the deadline: {score} confirmed itself.",
        "rejected": f"{who} rejected the report{reason}.",
        "disputed": f"{who} reported {score}, which differs: disputed.",
        "settled": f"{who} settled the dispute: {score}{reason}.",
        "result_entered": f"{who} entered the result {score}{reason}.",
        "forfeit": f"{who} recorded a forfeit{reason}.",
        "double_forfeit": f"{who} recorded a double forfeit{reason}.",
        "cancelled": f"{who} cancelled the match{reason}.",
        "disqualified": f"An entrant was disqualified{reason}.",
        "corrected": f"{who} corrected the result to "
                     f"{'–'.join(str(s) for s in data.get('new', []))}{reason}.",
        "reset": f"{who} reset the match{reason}.",
        "scheduled": f"{who} scheduled the match.",
        "details_changed": f"{who} changed the match details.",
    }
    return texts.get(event.kind, f"{who}: {event.kind.replace('_', ' ')}.")


def waiting_on(match: Match, report: ResultSubmission | None, opens: datetime | None,
               now: datetime | None = None) -> str | None:
    """What the match waits for, said for staff ("waiting for confirmation, 23 h left").

    `opens` is when its check-in opens (`match_progression.checkin_opens`).
    """
    now = now or utcnow()
    state = match.state
    if state == MatchState.PENDING:
        return "Waiting for the matches before it"
    if state == MatchState.SCHEDULED and opens is not None:
        return "Check-in opens now" if opens <= now else f"Check-in opens in {_left(opens - now)}"
    if state == MatchState.CHECK_IN:
        checked = sum(1 for at in (match.checked_in_a_at, match.checked_in_b_at) if at)
        late = match.scheduled_at is not None and now >= match.scheduled_at
        return f"{checked} of 2 checked in" + (" — past its time: no-show?" if late else "")
    if state == MatchState.READY:
        return "Both checked in; not started"
    if state == MatchState.LIVE and match.started_at:
        minutes = int((now - match.started_at).total_seconds() // 60)
        return f"No result {minutes} min after the start"
    if state == MatchState.PENDING_RESULT and report is not None and report.confirm_deadline:
        return (f"Waiting for the opponent's confirmation, "
                f"{_left(report.confirm_deadline - now)} left")
    if state == MatchState.DISPUTED:
        return "Disputed: staff to settle"
    return None


def _side(match: Match, index: int, registration: Registration | None) -> Corner:
    seed = match.seed_a if index == 0 else match.seed_b
    source = match.source_a if index == 0 else match.source_b
    done = match.state in FINISHED and match.winner_seed is not None
    score = match.score_a if index == 0 else match.score_b
    checked = (match.checked_in_a_at if index == 0 else match.checked_in_b_at) is not None
    if registration is not None:
        return Corner(registration.name, seed, True, checked, score,
                     done and match.winner_seed == seed)
    if seed == 0 or source == "bye":
        return Corner("Bye", None, False, False, None, False)
    return Corner(pending_name(source), None, False, False, None, False)


def pending_name(source: str) -> str:
    """Where an undecided side comes from: "Winner of M12"."""
    kind, _, ref = source.partition(":")
    if kind in ("winner", "loser") and ref.isdigit():
        return f"{kind.title()} of M{int(ref) + 1}"
    return "To be decided"


def _note(match: Match) -> str | None:
    if match.state in FINISHED:
        return match.state_reason or OUTCOME_NOTES.get(match.outcome or "")
    return match.state_reason


def _disputed_reports(match: Match) -> list[ResultSubmission]:
    return list(db.session.scalars(select(ResultSubmission).where(
        ResultSubmission.match_id == match.id,
        ResultSubmission.status.in_([SubmissionStatus.PENDING, SubmissionStatus.REJECTED]))
        .order_by(ResultSubmission.id)))


def _left(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60} h" if minutes >= 120 else f"{minutes} min"

