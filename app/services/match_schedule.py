"""When matches are played: scheduling one or many, the call-time plan, match check-in windows
and what happens to no-shows when a match's time comes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Bracket, Match, MatchState, Status, Tournament, User, utcnow
from app.services import brackets, matches, registrations
from app.services import match_actions as actions
from app.services import match_control as control
from app.services import match_progression as progression
from app.services.errors import DomainError, Invalid
from app.services.match_rules import Action, allowed, transition

log = logging.getLogger(__name__)
NO_SHOW = "did not check in before the match's start"
MAX_INTERVAL_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Wave:
    """Matches that can be played at the same time: the n-th wave of the call-time plan."""

    number: int
    matches: list[Match]


def schedule(actor: User, match: Match, when: datetime, expected_version: int) -> Match:
    """Staff set or change when a match is played; both sides get a notice."""
    tournament = actions.begin(match, expected_version)
    actions.require_staff(actor, tournament, "schedule matches")
    if when.tzinfo is None:
        raise Invalid("Give the time with its time zone.", {"scheduled_at": "No time zone."})
    target = transition(match.state, Action.SCHEDULE)
    previous, match.scheduled_at = match.scheduled_at, when
    if target == MatchState.SCHEDULED:
        if utcnow() >= progression.checkin_opens(tournament, match):
            target = transition(MatchState.SCHEDULED, progression.opening_action(tournament))
        else:  # moved later: check-in opens again at the new time
            match.checked_in_a_at = match.checked_in_b_at = None
    match.state = target
    actions.record(actor, tournament, match, "scheduled", at=when.isoformat(),
                   previous=previous.isoformat() if previous else None)
    verb = "rescheduled" if previous else "scheduled"
    actions.notify(tournament, match, [0, 1],
                   f"{matches.label(match)} is {verb}: {when:%a %d %b %H:%M} UTC.")
    return match


def schedule_many(actor: User, tournament: Tournament, rows: Sequence[Match],
                  when: datetime) -> list[Match]:
    """Schedule several matches at one time (a round at a time); those finished or under way
    are left as they are. Returns the matches scheduled."""
    registrations.lock(tournament)
    actions.require_staff(actor, tournament, "schedule matches")
    due = [row for row in rows if _schedulable(row)]
    if not due:
        raise Invalid("Nothing to schedule there: its matches are under way or finished.")
    return [schedule(actor, row, when, None) for row in due]


def plan_call_times(actor: User, tournament: Tournament, first: datetime, minutes: int,
                    from_wave: int = 1) -> list[Wave]:
    """The call-time plan: wave `from_wave` at `first`, each later wave `minutes` after it.

    A wave is the matches whose feeders are all in earlier waves (round robin and Swiss:
    their round), so a plan never calls a match before the ones that decide its entrants.
    """
    if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
        raise Invalid(f"Between 1 and {MAX_INTERVAL_MINUTES} minutes between waves.",
                      {"minutes": "Out of range."})
    registrations.lock(tournament)
    actions.require_staff(actor, tournament, "schedule matches")
    planned = []
    for wave in waves(tournament):
        if wave.number < from_wave:
            continue
        when = first + timedelta(minutes=minutes * (wave.number - from_wave))
        rows = [row for row in wave.matches if _schedulable(row)]
        planned.append(Wave(wave.number, [schedule(actor, row, when, None) for row in rows]))
    return planned


def waves(tournament: Tournament) -> list[Wave]:
    """The current stage's matches by wave (see `plan_call_times`), skipped resets aside."""
    bracket = brackets.current(tournament, 2) or brackets.current(tournament)
    if bracket is None:
        return []
    rows = list(db.session.scalars(select(Match).where(Match.bracket_id == bracket.id)
                                   .order_by(Match.number)))
    depth: dict[int, int] = {}
    for row in rows:  # feeders always have smaller numbers than the matches they feed
        feeders = [int(s.partition(":")[2]) for s in (row.source_a, row.source_b)
                   if s.startswith(("winner:", "loser:"))]
        depth[row.number] = max([depth[f] + 1 for f in feeders], default=row.round)
    grouped: dict[int, list[Match]] = {}
    for row in rows:
        if row.state != MatchState.CANCELLED or row.outcome is not None:
            grouped.setdefault(depth[row.number], []).append(row)
    return [Wave(n, grouped[n]) for n in sorted(grouped)]


def _schedulable(row: Match) -> bool:
    return allowed(row.state, Action.SCHEDULE)


# --- check-in windows and no-shows -----------------------------------------------------------


def open_due_checkins(now: datetime) -> int:
    """SCHEDULED matches of published brackets in live tournaments whose check-in window
    opened (or that have no time: their window opens when the event is live) move to
    CHECK_IN (the sweeper)."""
    due = list(db.session.scalars(
        select(Match).join(Tournament, Tournament.id == Match.tournament_id)
        .join(Bracket, Bracket.id == Match.bracket_id).where(
            Tournament.status == Status.LIVE, Bracket.finalized_at.is_not(None),
            Match.state == MatchState.SCHEDULED).order_by(Match.id)))
    opened = 0
    for match in due:
        tournament = db.session.get(Tournament, match.tournament_id)
        opens = progression.checkin_opens(tournament, match)
        if opens is not None and now < opens:
            continue
        with db.session.begin_nested():
            registrations.lock(tournament)
            db.session.refresh(match)
            if match.state != MatchState.SCHEDULED:
                continue  # another sweeper or a person got there first
            match.state = transition(match.state, progression.opening_action(tournament))
            actions.record(None, tournament, match, "check_in_opened" if tournament.match_checkin
                           else "play_opened")
            opened += 1
    return opened


def no_shows(match: Match, now: datetime | None = None) -> list[int] | None:
    """The sides that did not check in by the match's time; None while nobody can tell yet."""
    now = now or utcnow()
    if not db.session.get(Tournament, match.tournament_id).match_checkin:
        return None  # nobody checks in: the staff tell a no-show, not the clock
    if (match.state not in (MatchState.SCHEDULED, MatchState.CHECK_IN)
            or match.scheduled_at is None or now < match.scheduled_at):
        return None
    return [side for side, at in enumerate((match.checked_in_a_at, match.checked_in_b_at))
            if at is None]


def forfeit_no_shows(actor: User | None, match: Match, expected_version: int | None,
                     now: datetime | None = None) -> Match:
    """At the match's time, whoever did not check in forfeits (both: a double forfeit)."""
    registrations.lock(db.session.get(Tournament, match.tournament_id))
    db.session.refresh(match)  # under the lock: a check-in at the last second counts
    if expected_version is not None and match.version != expected_version:
        raise matches.MatchChanged(match)
    absent = no_shows(match, now)
    if not absent:
        raise Invalid(f"{matches.label(match)} has no no-show to forfeit: it is not past its "
                      "time, or both sides checked in.")
    by_schedule = actor is None  # the sweeper; staff otherwise (checked by the forfeit)
    if len(absent) == 2:
        return control.double_forfeit(actor, match, f"Both sides {NO_SHOW}.", match.version,
                                      by_schedule=by_schedule)
    return control.forfeit(actor, match, absent[0], f"{_side_name(match, absent[0])} {NO_SHOW}.",
                           match.version, by_schedule=by_schedule)


def forfeit_due_no_shows(now: datetime) -> int:
    """The sweeper: forfeit no-shows in tournaments that forfeit them automatically."""
    due = list(db.session.scalars(
        select(Match).join(Tournament, Tournament.id == Match.tournament_id)
        .join(Bracket, Bracket.id == Match.bracket_id).where(
            Tournament.status == Status.LIVE, Tournament.auto_forfeit_no_shows,
            Tournament.match_checkin,
            Bracket.finalized_at.is_not(None),
            Match.state.in_([MatchState.SCHEDULED, MatchState.CHECK_IN]),
            Match.scheduled_at <= now).order_by(Match.id)))
    done = 0
    for match in due:
        try:  # one match that cannot be forfeited must not hold up the others
            with db.session.begin_nested():
                forfeit_no_shows(None, match, None, now)
                done += 1
        except DomainError as error:  # e.g. both sides checked in at the last second
            log.info("no-shows of match %s not forfeited: %s", match.id, error.message)
    return done


def _side_name(match: Match, side: int) -> str:
    registration = matches.registrations_of(match)[side]
    return registration.name if registration else f"Side {'AB'[side]}"
