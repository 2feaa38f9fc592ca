"""Running matches: check-in, start, score reports, confirmation, disputes, staff actions.

Every action follows the same steps, in this order, inside the caller's transaction:
take the tournament row lock (`registrations.lock`: one writer per tournament, so two
clicks run one after the other), re-read the match, check who may act on THIS match,
refuse a stale page (`expected_version` is the match's version when the page rendered),
ask `match_rules.transition` whether the action is legal, change the rows, and append an
audit row, a timeline entry (MatchEvent) and an outbox event. The loser of a race therefore
always gets a Conflict (409) that says the match changed, never a second advancement.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from app import jobs
from app.brackets.play import Play
from app.extensions import db
from app.jobs import results as result_jobs
from app.models import (
    Bracket,
    BracketEntrant,
    Match,
    MatchEvent,
    MatchState,
    Notification,
    Registration,
    RegistrationMember,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, brackets, permissions, registrations, stages, uploads
from app.services import match_progression as progression
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from app.services.match_rules import (
    FINISHED,
    STARTED,
    Action,
    transition,
    validate_games,
    validate_links,
    validate_series,
)

log = logging.getLogger(__name__)
EVIDENCE_FOLDER = "match-evidence"
SCREENSHOT_KINDS = (uploads.JPEG, uploads.PNG, uploads.WEBP)
MAX_SCREENSHOTS = 5
REASON_MAX = 500
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


# --- reading -----------------------------------------------------------------------------


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
        if registration is not None and user.id in _users_of(registration):
            return side
    return None


def _users_of(registration: Registration) -> set[int]:
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


# --- players -----------------------------------------------------------------------------


def check_in(actor: User, match: Match, expected_version: int) -> Match:
    """A side says it is here; the second side's check-in makes the match READY."""
    tournament = _begin(match, expected_version)
    side = _require_side(actor, match, "check in")
    transition(match.state, Action.CHECK_IN)
    opens = progression.checkin_opens(tournament, match)
    if opens is not None and utcnow() < opens:
        raise Invalid(f"Check-in for {label(match)} opens at {opens:%H:%M} UTC "
                      f"({tournament.match_checkin_minutes} minutes before it starts).")
    column = "checked_in_a_at" if side == 0 else "checked_in_b_at"
    if getattr(match, column) is not None:
        return match  # a double click: checked in once
    setattr(match, column, utcnow())
    match.state = MatchState.CHECK_IN
    if match.checked_in_a_at and match.checked_in_b_at:
        match.state = transition(match.state, Action.BOTH_CHECKED_IN)
    _record(actor, tournament, match, "checked_in", side=side)
    return match


def start(actor: User, match: Match, expected_version: int) -> Match:
    """READY → LIVE (a side or staff); the clock for "no result after N minutes" starts."""
    tournament = _begin(match, expected_version)
    if side_of(actor, match) is None:
        _require_staff(actor, tournament, "start this match")
    match.state = transition(match.state, Action.START)
    match.started_at = utcnow()
    _record(actor, tournament, match, "started")
    return match


def report(actor: User, match: Match, games: Sequence[Sequence[int]], expected_version: int,
           *, links: Sequence[str] = (),
           screenshots: Sequence[uploads.Upload] = ()) -> ResultSubmission:
    """A side reports the score game by game; the opponent confirms or rejects it.

    From READY the report starts the match too. A report while the opponent's report waits
    confirms it when the scores agree and disputes it when they do not.
    """
    tournament = _begin(match, expected_version)
    side = _require_side(actor, match, "report its result")
    score = validate_games(match.best_of, games)
    links = validate_links(links)
    _check_screenshots(screenshots)
    waiting = open_reports(match) if match.state == MatchState.PENDING_RESULT else []
    if any(r.side == side for r in waiting):
        raise Conflict("Your side reported this match already; your opponent confirms it.")
    if waiting:
        return _counter_report(actor, tournament, match, waiting[0], side, games, score, links,
                               screenshots)
    target = transition(match.state, Action.REPORT)
    now = utcnow()
    if match.state == MatchState.READY:
        match.started_at = now
        _timeline(actor, match, "started", implicit=True)
    deadline = now + timedelta(hours=tournament.auto_confirm_hours)
    submission = _submission(actor, match, side, games, score, links, screenshots,
                             deadline=deadline)
    match.state = target
    _record(actor, tournament, match, "reported", submission=submission.id,
            score=list(score), deadline=deadline.isoformat())
    _notify(tournament, match, [1 - side],
            f"{label(match)}: your opponent reported {score[0]}–{score[1]}. Confirm or reject "
            f"it before {deadline:%d %b %H:%M} UTC, or it confirms itself.")
    jobs.enqueue_at(deadline, result_jobs.auto_confirm_job, submission.id)
    return submission


def _counter_report(actor: User, tournament: Tournament, match: Match,
                    first: ResultSubmission, side: int, games: Sequence[Sequence[int]],
                    score: tuple[int, int], links: list[str],
                    screenshots: Sequence[uploads.Upload]) -> ResultSubmission:
    """The second side reports too: the same score confirms, a different one disputes."""
    if (first.score_a, first.score_b) == score:
        transition(match.state, Action.CONFIRM)
        mine = _submission(actor, match, side, games, score, links, screenshots,
                           status=SubmissionStatus.CONFIRMED)
        _complete(actor, tournament, match, first, SubmissionStatus.CONFIRMED,
                  "confirmed", same_report=mine.id)
        return mine
    match.state = transition(match.state, Action.REJECT)
    mine = _submission(actor, match, side, games, score, links, screenshots)
    _decide(actor, first, SubmissionStatus.REJECTED,
            reason=f"The opponent reported {score[0]}–{score[1]}.")
    _record(actor, tournament, match, "disputed", submission=mine.id, score=list(score),
            other=first.id)
    _notify(tournament, match, [0, 1], f"{label(match)}: the two reports differ; the staff "
                                       "will settle the result.")
    return mine


def confirm(actor: User, match: Match, expected_version: int) -> Match:
    """The opponent (or staff) confirms the waiting report: the match is COMPLETED."""
    tournament = _begin(match, expected_version)
    transition(match.state, Action.CONFIRM)
    pending = _waiting_report(match)
    side = side_of(actor, match)
    if side == pending.side:
        raise NotAllowed("Your side reported this result; your opponent confirms it.")
    if side is None:
        _require_staff(actor, tournament, "confirm this result")
    _complete(actor, tournament, match, pending, SubmissionStatus.CONFIRMED, "confirmed",
              by_staff=side is None)
    return match


def reject(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """The opponent rejects the waiting report with a reason: the match is DISPUTED."""
    tournament = _begin(match, expected_version)
    transition(match.state, Action.REJECT)
    pending = _waiting_report(match)
    side = side_of(actor, match)
    if side is None or side == pending.side:
        raise NotAllowed("Only the opponent of the side that reported can reject the result.")
    reason = _reason(reason)
    match.state = transition(match.state, Action.REJECT)
    _decide(actor, pending, SubmissionStatus.REJECTED, reason=reason)
    _record(actor, tournament, match, "rejected", submission=pending.id, reason=reason)
    _notify(tournament, match, [pending.side], f"{label(match)}: your report was rejected "
                                               f"({reason}); the staff will settle it.")
    return match


def auto_confirm(submission_id: int, now: datetime | None = None) -> bool:
    """Confirm a report whose deadline passed; False when there is nothing to do (any more)."""
    now = now or utcnow()
    submission = db.session.get(ResultSubmission, submission_id)
    if submission is None:
        return False
    match = db.session.get(Match, submission.match_id)
    tournament = db.session.get(Tournament, match.tournament_id)
    registrations.lock(tournament)
    db.session.refresh(match)
    db.session.refresh(submission)
    due = (submission.status == SubmissionStatus.PENDING and submission.confirm_deadline
           is not None and submission.confirm_deadline <= now)
    if not due or match.state != MatchState.PENDING_RESULT or tournament.status != Status.LIVE:
        return False
    transition(match.state, Action.AUTO_CONFIRM)
    _complete(None, tournament, match, submission, SubmissionStatus.AUTO_CONFIRMED,
              "auto_confirmed")
    return True


def confirm_due(now: datetime) -> int:
    """Auto-confirm every report past its deadline (the sweeper's catch for lost jobs)."""
    due = list(db.session.scalars(select(ResultSubmission.id).where(
        ResultSubmission.status == SubmissionStatus.PENDING,
        ResultSubmission.confirm_deadline <= now).order_by(ResultSubmission.id)))
    done = 0
    for submission_id in due:
        try:  # one match that cannot be confirmed must not hold up the others
            with db.session.begin_nested():
                done += auto_confirm(submission_id, now)
        except DomainError as error:
            log.warning("report %s not auto-confirmed: %s", submission_id, error.message)
    return done


# --- staff -------------------------------------------------------------------------------


def settle(actor: User, match: Match, expected_version: int, *, submission_id: int | None = None,
           games: Sequence[Sequence[int]] | None = None,
           score: tuple[int, int] | None = None, reason: str = "") -> Match:
    """Staff settle a DISPUTED match: pick one of its reports, or enter the final score."""
    tournament = _begin(match, expected_version)
    _require_staff(actor, tournament, "settle a dispute")
    transition(match.state, Action.SETTLE)
    if submission_id is not None:
        chosen = db.session.get(ResultSubmission, submission_id)
        if chosen is None or chosen.match_id != match.id or chosen.status not in (
                SubmissionStatus.PENDING, SubmissionStatus.REJECTED):
            raise Invalid("Choose one of this match's disputed reports.")
    else:
        chosen = _staff_submission(actor, match, games, score, reason)
    _complete(actor, tournament, match, chosen, SubmissionStatus.CONFIRMED, "settled",
              by_staff=True, reason=reason or None)
    return match


def enter_result(actor: User, match: Match, expected_version: int, *,
                 games: Sequence[Sequence[int]] | None = None,
                 score: tuple[int, int] | None = None, reason: str = "") -> Match:
    """Staff enter (or override) the final result of a match in any open state."""
    tournament = _begin(match, expected_version)
    _require_staff(actor, tournament, "enter results")
    transition(match.state, Action.ENTER_RESULT)
    submission = _staff_submission(actor, match, games, score, reason)
    _complete(actor, tournament, match, submission, SubmissionStatus.CONFIRMED,
              "result_entered", by_staff=True, reason=reason or None)
    return match


def forfeit(actor: User, match: Match, side: int, reason: str, expected_version: int) -> Match:
    """Staff: side 0 or 1 forfeits; the opponent wins by walkover."""
    if side not in (0, 1):
        raise Invalid("Choose which side forfeits.")
    return _walkover(actor, match, reason, expected_version, Action.FORFEIT, "forfeit",
                     lambda play: play.forfeit(match.number, _seed(match, side)), side=side)


def double_forfeit(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """Staff: both sides forfeit; neither advances (a bye goes on)."""
    return _walkover(actor, match, reason, expected_version, Action.FORFEIT, "double_forfeit",
                     lambda play: play.double_forfeit(match.number))


def cancel(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """Staff: the match will not be played; for the bracket it counts as a double forfeit."""
    return _walkover(actor, match, reason, expected_version, Action.CANCEL, "cancelled",
                     lambda play: play.double_forfeit(match.number))


def _walkover(actor: User, match: Match, reason: str, expected_version: int, action: Action,
              kind: str, operation: Any, **data: Any) -> Match:
    tournament = _begin(match, expected_version)
    _require_staff(actor, tournament, "decide matches")
    target = transition(match.state, action)
    reason = _reason(reason)
    progression.supersede_open_reports(match)
    _apply(actor, tournament, match, operation)
    match.state, match.state_reason, match.completed_at = target, reason, utcnow()
    _record(actor, tournament, match, kind, event="match_completed", reason=reason, **data)
    _notify(tournament, match, [0, 1], f"{label(match)}: {kind.replace('_', ' ')} — {reason}")
    return match


def schedule(actor: User, match: Match, when: datetime, expected_version: int) -> Match:
    """Staff set or change when a match is played; both sides get a notice."""
    tournament = _begin(match, expected_version)
    _require_staff(actor, tournament, "schedule matches")
    if when.tzinfo is None:
        raise Invalid("Give the time with its time zone.", {"scheduled_at": "No time zone."})
    target = transition(match.state, Action.SCHEDULE)
    previous, match.scheduled_at = match.scheduled_at, when
    if target == MatchState.SCHEDULED:
        if utcnow() >= progression.checkin_opens(tournament, match):
            target = transition(MatchState.SCHEDULED, Action.OPEN_CHECK_IN)
        else:  # moved later: check-in opens again at the new time
            match.checked_in_a_at = match.checked_in_b_at = None
    match.state = target
    _record(actor, tournament, match, "scheduled", at=when.isoformat(),
            previous=previous.isoformat() if previous else None)
    verb = "rescheduled" if previous else "scheduled"
    _notify(tournament, match, [0, 1], f"{label(match)} is {verb}: {when:%a %d %b %H:%M} UTC.")
    return match


def open_due_checkins(now: datetime) -> int:
    """SCHEDULED matches whose check-in window has opened move to CHECK_IN (the sweeper)."""
    due = list(db.session.scalars(
        select(Match).join(Tournament, Tournament.id == Match.tournament_id).where(
            Tournament.status == Status.LIVE, Match.state == MatchState.SCHEDULED,
            Match.scheduled_at.is_not(None)).order_by(Match.id)))
    opened = 0
    for match in due:
        tournament = db.session.get(Tournament, match.tournament_id)
        if now < progression.checkin_opens(tournament, match):
            continue
        with db.session.begin_nested():
            registrations.lock(tournament)
            db.session.refresh(match)
            if match.state != MatchState.SCHEDULED:
                continue  # another sweeper or a person got there first
            match.state = transition(match.state, Action.OPEN_CHECK_IN)
            _record(None, tournament, match, "check_in_opened")
            opened += 1
    return opened


def disqualify(actor: User, tournament: Tournament, registration: Registration,
               reason: str) -> list[Match]:
    """Remove an entrant from the current stage: walkovers now and in every later match."""
    registrations.lock(tournament)
    if not permissions.can_manage(actor, tournament):
        raise NotAllowed(f"Only the organizers of {tournament.name} can disqualify entrants.")
    _require_live(tournament)
    reason = _reason(reason)
    bracket = brackets.current(tournament, 2) or brackets.current(tournament)
    seed = next((e.seed for e in bracket.seeds if e.registration_id == registration.id),
                None) if bracket else None
    if seed is None:
        raise Invalid(f"{registration.name} is not in the current bracket.")
    if seed in (bracket.settings or {}).get("disqualified", []):
        raise Conflict(f"{registration.name} is disqualified already.")
    open_before = {m.id: m.state for m in db.session.scalars(select(Match).where(
        Match.bracket_id == bracket.id, or_(Match.seed_a == seed, Match.seed_b == seed)))}
    touched = progression.apply(actor, tournament, bracket, lambda play: play.disqualify(seed))
    bracket.version += 1
    audit.record(actor, "registration.disqualified", registration, tournament=tournament,
                 reason=reason, matches=[m.id for m in touched])
    for row in touched:
        if row.id in open_before and open_before[row.id] != row.state:
            row.state_reason = f"{registration.name} was disqualified: {reason}"
            _timeline(actor, row, "disqualified", registration_id=registration.id,
                      reason=reason)
        events.record("match_updated", tournament_id=tournament.id, match_id=row.id,
                      state=row.state.value)
    return touched


def correct(actor: User, match: Match, expected_version: int, *,
            games: Sequence[Sequence[int]] | None = None, score: tuple[int, int] | None = None,
            reason: str) -> Match:
    """Change a finished result while nothing that follows from it has started."""
    tournament = _begin(match, expected_version)
    _require_manager(actor, tournament, "correct results")
    transition(match.state, Action.CORRECT)
    reason = _reason(reason)
    _refuse_if_dependents_started(match)
    old = [match.score_a, match.score_b, match.winner_seed, match.outcome]
    submission = _staff_submission(actor, match, games, score, reason)
    winner = match.seed_a if submission.score_a > submission.score_b else match.seed_b
    scores = (submission.score_a, submission.score_b)

    def redo(play: Play) -> list[int]:
        return [*play.reopen(match.number), *play.record(match.number, winner, scores)]

    _supersede_confirmed(match)
    _decide(actor, submission, SubmissionStatus.CONFIRMED, reason=reason)
    _apply(actor, tournament, match, redo)
    match.state, match.state_reason, match.completed_at = MatchState.COMPLETED, reason, utcnow()
    _record(actor, tournament, match, "corrected", event="match_completed", reason=reason,
            old=old, new=list(scores))
    _notify(tournament, match, [0, 1], f"{label(match)}: the result was corrected to "
                                       f"{scores[0]}–{scores[1]} ({reason}).")
    return match


def reset(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """Put a started or finished match back to READY (undoing its result in the bracket)."""
    tournament = _begin(match, expected_version)
    _require_manager(actor, tournament, "reset matches")
    target = transition(match.state, Action.RESET)
    reason = _reason(reason)
    progression.supersede_open_reports(match)
    if match.state in FINISHED:
        _refuse_if_dependents_started(match)
        _supersede_confirmed(match)
        _apply(actor, tournament, match, lambda play: play.reopen(match.number))
    match.state, match.state_reason = target, reason
    match.started_at = match.completed_at = None
    _record(actor, tournament, match, "reset", reason=reason)
    return match


# --- the steps every action shares --------------------------------------------------------


def _begin(match: Match, expected_version: int | None) -> Tournament:
    """Lock the tournament, re-read the match, refuse a stale page or a match not in play."""
    tournament = db.session.get(Tournament, match.tournament_id)
    registrations.lock(tournament)
    db.session.refresh(match)
    if expected_version is not None and match.version != expected_version:
        raise MatchChanged(match)
    _require_live(tournament)
    bracket = db.session.get(Bracket, match.bracket_id)
    if not bracket.finalized:
        raise Conflict("This bracket is not published yet; its matches cannot be played.")
    return tournament


def _require_live(tournament: Tournament) -> None:
    if tournament.status != Status.LIVE:
        raise Conflict(f"The tournament is {tournament.status.value.lower().replace('_', ' ')}"
                       "; matches are played while it is live.")


def _require_side(actor: User, match: Match, what: str) -> int:
    side = side_of(actor, match)
    if side is None:
        raise NotAllowed(f"Only the two sides of {label(match)} can {what}.")
    return side


def _require_staff(actor: User, tournament: Tournament, what: str) -> None:
    if not permissions.can_coordinate(actor, tournament):
        raise NotAllowed(f"Only the staff of {tournament.name} can {what}.")


def _require_manager(actor: User, tournament: Tournament, what: str) -> None:
    if not permissions.can_manage(actor, tournament):
        raise NotAllowed(f"Only the organizers of {tournament.name} can {what}.")


def _refuse_if_dependents_started(match: Match) -> None:
    if blocking := started_dependents(match):
        raise DependentsStarted(blocking)
    bracket = db.session.get(Bracket, match.bracket_id)
    if stages.current_playoffs(bracket) is not None and (bracket.settings or {}).get(
            "groups", 1) > 1:
        raise Conflict("The playoffs were seeded from these group results; they can no "
                       "longer change.")


def _waiting_report(match: Match) -> ResultSubmission:
    waiting = open_reports(match)
    if not waiting:  # PENDING_RESULT always has one; say so plainly if not
        raise Conflict("There is no report waiting for confirmation.")
    return waiting[0]


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason; it is shown to both sides.", {"reason": "Required."})
    if len(reason) > REASON_MAX:
        raise Invalid(f"At most {REASON_MAX} characters.", {"reason": "Too long."})
    return reason


def _seed(match: Match, side: int) -> int:
    return match.seed_a if side == 0 else match.seed_b


def _apply(actor: User | None, tournament: Tournament, match: Match, operation: Any) -> None:
    bracket = db.session.get(Bracket, match.bracket_id)
    progression.apply(actor, tournament, bracket, operation, acted=match.number)


def _complete(actor: User | None, tournament: Tournament, match: Match,
              submission: ResultSubmission, status: SubmissionStatus, kind: str,
              **data: Any) -> None:
    """Record `submission`'s score as the result: engine progression, rows, events."""
    winner = match.seed_a if submission.score_a > submission.score_b else match.seed_b
    scores = (submission.score_a, submission.score_b)
    _decide(actor, submission, status)
    progression.supersede_open_reports(match)
    _apply(actor, tournament, match, lambda play: play.record(match.number, winner, scores))
    match.state = MatchState.COMPLETED
    match.state_reason = data.get("reason")
    match.completed_at = utcnow()
    _record(actor, tournament, match, kind, event="match_completed", submission=submission.id,
            score=list(scores), **data)
    _notify(tournament, match, [0, 1],
            f"{label(match)}: result {scores[0]}–{scores[1]} is final.")


def _submission(actor: User, match: Match, side: int | None, games: Sequence[Sequence[int]],
                score: tuple[int, int], links: list[str],
                screenshots: Sequence[uploads.Upload], *,
                status: SubmissionStatus = SubmissionStatus.PENDING,
                deadline: datetime | None = None) -> ResultSubmission:
    submission = ResultSubmission(
        match_id=match.id, submitted_by_id=actor.id if actor else None, side=side,
        games=[list(g) for g in games], score_a=score[0], score_b=score[1], links=links,
        evidence=[uploads.store(s, EVIDENCE_FOLDER) for s in screenshots], status=status,
        confirm_deadline=deadline)
    if status != SubmissionStatus.PENDING:
        submission.decided_by_id, submission.decided_at = submission.submitted_by_id, utcnow()
    db.session.add(submission)
    db.session.flush()
    return submission


def _staff_submission(actor: User, match: Match, games: Sequence[Sequence[int]] | None,
                      score: tuple[int, int] | None, reason: str) -> ResultSubmission:
    if games:
        final = validate_games(match.best_of, games)
    elif score is not None:
        final = validate_series(match.best_of, *score)
    else:
        raise Invalid("Enter the score game by game, or the final game wins.")
    submission = _submission(actor, match, None, games or [], final, [], [])
    submission.reason = reason.strip()[:REASON_MAX] or None
    return submission


def _decide(actor: User | None, submission: ResultSubmission, status: SubmissionStatus,
            reason: str | None = None) -> None:
    submission.status = status
    submission.decided_by_id = actor.id if actor else None
    submission.decided_at = utcnow()
    submission.confirm_deadline = None
    if reason is not None:
        submission.reason = reason


def _supersede_confirmed(match: Match) -> None:
    for row in db.session.scalars(select(ResultSubmission).where(
            ResultSubmission.match_id == match.id, ResultSubmission.status.in_(
                (SubmissionStatus.CONFIRMED, SubmissionStatus.AUTO_CONFIRMED)))):
        row.status = SubmissionStatus.SUPERSEDED


def _check_screenshots(screenshots: Sequence[uploads.Upload]) -> None:
    if len(screenshots) > MAX_SCREENSHOTS:
        raise Invalid(f"At most {MAX_SCREENSHOTS} screenshots.", {"screenshots": "Too many."})
    for shot in screenshots:
        if shot.kind not in SCREENSHOT_KINDS or len(shot.data) > uploads.MAX_BYTES:
            message = f"“{shot.original_name}”: screenshots are PNG, JPG or WebP up to 5 MB."
            raise Invalid(message, {"screenshots": message})


def _timeline(actor: User | None, match: Match, kind: str, **data: Any) -> None:
    db.session.add(MatchEvent(match_id=match.id, tournament_id=match.tournament_id,
                              actor_id=actor.id if actor else None, kind=kind, data=data))


def _record(actor: User | None, tournament: Tournament, match: Match, kind: str, *,
            event: str = "match_updated", **data: Any) -> None:
    """The audit row, the timeline entry and the outbox event of one action."""
    data = {k: v for k, v in data.items() if v is not None}
    audit.record(actor, f"match.{kind}", match, tournament=tournament, number=match.number,
                 **data)
    _timeline(actor, match, kind, **data)
    events.record(event, tournament_id=tournament.id, match_id=match.id,
                  state=match.state.value)


def _notify(tournament: Tournament, match: Match, sides: Sequence[int | None], text: str) -> None:
    regs = registrations_of(match)
    users: set[int] = set()
    for side in sides:
        if side is not None and regs[side] is not None:
            users |= _users_of(regs[side])
    db.session.add_all(Notification(user_id=u, tournament_id=tournament.id, match_id=match.id,
                                    text=text[:300]) for u in sorted(users))
