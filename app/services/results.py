"""Results: score reports, the opponent's confirmation or rejection, auto-confirmation at the
deadline, staff settling disputes or entering results, and corrections of finished results."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import jobs
from app.brackets.play import Play
from app.extensions import db
from app.jobs import results as result_jobs
from app.models import (
    Match,
    MatchState,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
    utcnow,
)
from app.services import match_actions as actions
from app.services import match_log, matches, registrations, uploads
from app.services import match_progression as progression
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from app.services.match_actions import REASON_MAX
from app.services.match_rules import (
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


def report(actor: User, match: Match, games: Sequence[Sequence[int]], expected_version: int,
           *, links: Sequence[str] = (),
           screenshots: Sequence[uploads.Upload] = ()) -> ResultSubmission:
    """A side reports the score game by game; the opponent confirms or rejects it.

    From READY the report starts the match too. A report while the opponent's report waits
    confirms it when the scores agree and disputes it when they do not.
    """
    # Only a counter-report can complete the match; the page's version pins the state it
    # saw, so deciding the lock from it is safe (a changed state is a changed version).
    tournament = actions.begin(match, expected_version,
                               advances=match.state == MatchState.PENDING_RESULT)
    side = actions.require_side(actor, match, "report its result")
    score = validate_games(match.best_of, games)
    links = validate_links(links)
    _check_screenshots(screenshots)
    waiting = matches.open_reports(match) if match.state == MatchState.PENDING_RESULT else []
    if any(r.side == side for r in waiting):
        raise Conflict("Your side reported this match already; your opponent confirms it.")
    if waiting:
        return _counter_report(actor, tournament, match, waiting[0], side, games, score, links,
                               screenshots)
    now = utcnow()
    progression.open_if_due(tournament, match, now)  # no match check-in: its time has come
    target = transition(match.state, Action.REPORT)
    before: list = []
    if match.state == MatchState.READY:
        match.started_at = now
        before.append(("started", {"implicit": True}))
    deadline = now + timedelta(hours=tournament.auto_confirm_hours)
    match.state = target  # before the submission's flush: the match row is written once
    submission = _submission(actor, match, side, games, score, links, screenshots,
                             deadline=deadline)
    with match_log.batch():
        actions.record(actor, tournament, match, "reported", before=before,
                       submission=submission.id, score=list(score),
                       deadline=deadline.isoformat())
        actions.notify(tournament, match, [1 - side],
                       f"{matches.label(match)}: your opponent reported {score[0]}–{score[1]}. "
                       f"Confirm or reject it before {deadline:%d %b %H:%M} UTC, or it "
                       "confirms itself.")
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
    actions.record(actor, tournament, match, "disputed", submission=mine.id, score=list(score),
                   other=first.id)
    actions.notify(tournament, match, [0, 1], f"{matches.label(match)}: the two reports "
                                              "differ; the staff will settle the result.")
    return mine


def confirm(actor: User, match: Match, expected_version: int) -> Match:
    """The opponent (or staff) confirms the waiting report: the match is COMPLETED."""
    # The reports and who plays, read before the tournament's lock when the page's version
    # pins them (`actions.pinned`): the lock is held that much shorter.
    early = actions.pinned(match, expected_version) and match.state == MatchState.PENDING_RESULT
    if early:
        waiting = matches.open_reports(match)
        matches.side_users(match)
    tournament = actions.begin(match, expected_version)
    transition(match.state, Action.CONFIRM)
    if not early or not waiting:
        waiting = _waiting_reports(match)
    pending = waiting[0]
    side = matches.side_of(actor, match)
    if side == pending.side:
        raise NotAllowed("Your side reported this result; your opponent confirms it.")
    if side is None:
        actions.require_staff(actor, tournament, "confirm this result")
    _complete(actor, tournament, match, pending, SubmissionStatus.CONFIRMED, "confirmed",
              others_open=len(waiting) > 1, by_staff=side is None)
    return match


def reject(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """The opponent rejects the waiting report with a reason: the match is DISPUTED."""
    tournament = actions.begin(match, expected_version)
    transition(match.state, Action.REJECT)
    pending = _waiting_report(match)
    side = matches.side_of(actor, match)
    if side is None or side == pending.side:
        raise NotAllowed("Only the opponent of the side that reported can reject the result.")
    reason = actions.reason_given(reason)
    match.state = transition(match.state, Action.REJECT)
    _decide(actor, pending, SubmissionStatus.REJECTED, reason=reason)
    actions.record(actor, tournament, match, "rejected", submission=pending.id, reason=reason)
    actions.notify(tournament, match, [pending.side],
                   f"{matches.label(match)}: your report was rejected ({reason}); the staff "
                   "will settle it.")
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


def settle(actor: User, match: Match, expected_version: int, *, submission_id: int | None = None,
           games: Sequence[Sequence[int]] | None = None,
           score: tuple[int, int] | None = None, reason: str = "") -> Match:
    """Staff settle a DISPUTED match: pick one of its reports, or enter the final score."""
    tournament = actions.begin(match, expected_version)
    actions.require_staff(actor, tournament, "settle a dispute")
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
    tournament = actions.begin(match, expected_version)
    actions.require_staff(actor, tournament, "enter results")
    transition(match.state, Action.ENTER_RESULT)
    submission = _staff_submission(actor, match, games, score, reason)
    _complete(actor, tournament, match, submission, SubmissionStatus.CONFIRMED,
              "result_entered", by_staff=True, reason=reason or None)
    return match


def correct(actor: User, match: Match, expected_version: int, *,
            games: Sequence[Sequence[int]] | None = None, score: tuple[int, int] | None = None,
            reason: str) -> Match:
    """Change a finished result while nothing that follows from it has started."""
    tournament = actions.begin(match, expected_version)
    actions.require_manager(actor, tournament, "correct results")
    transition(match.state, Action.CORRECT)
    reason = actions.reason_given(reason)
    actions.refuse_if_dependents_started(match)
    old = [match.score_a, match.score_b, match.winner_seed, match.outcome]
    submission = _staff_submission(actor, match, games, score, reason)
    winner = match.seed_a if submission.score_a > submission.score_b else match.seed_b
    scores = (submission.score_a, submission.score_b)

    def redo(play: Play) -> list[int]:
        return [*play.reopen(match.number), *play.record(match.number, winner, scores)]

    supersede_confirmed(match)
    _decide(actor, submission, SubmissionStatus.CONFIRMED, reason=reason)
    actions.apply(actor, tournament, match, redo)
    match.state, match.state_reason, match.completed_at = MatchState.COMPLETED, reason, utcnow()
    actions.record(actor, tournament, match, "corrected", event="match_completed",
                   reason=reason, old=old, new=list(scores))
    actions.notify(tournament, match, [0, 1], f"{matches.label(match)}: the result was "
                                              f"corrected to {scores[0]}–{scores[1]} ({reason}).")
    return match


def _complete(actor: User | None, tournament: Tournament, match: Match,
              submission: ResultSubmission, status: SubmissionStatus, kind: str,
              *, others_open: bool = True, **data: Any) -> None:
    """Record `submission`'s score as the result: engine progression, rows, events.

    `others_open=False`: the caller read, under the lock, that no other report waits.
    """
    winner = match.seed_a if submission.score_a > submission.score_b else match.seed_b
    scores = (submission.score_a, submission.score_b)
    _decide(actor, submission, status)
    if others_open:
        progression.supersede_open_reports(match)
    with match_log.batch():  # the bracket's writes and this match's go in one round trip
        actions.apply(actor, tournament, match,
                      lambda play: play.record(match.number, winner, scores))
        match.state = MatchState.COMPLETED
        match.state_reason = data.get("reason")
        match.completed_at = utcnow()
        actions.record(actor, tournament, match, kind, event="match_completed",
                       submission=submission.id, score=list(scores), **data)
        actions.notify(tournament, match, [0, 1],
                       f"{matches.label(match)}: result {scores[0]}–{scores[1]} is final.")


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


def supersede_confirmed(match: Match) -> None:
    for row in db.session.scalars(select(ResultSubmission).where(
            ResultSubmission.match_id == match.id, ResultSubmission.status.in_(
                (SubmissionStatus.CONFIRMED, SubmissionStatus.AUTO_CONFIRMED)))):
        row.status = SubmissionStatus.SUPERSEDED


def _waiting_report(match: Match) -> ResultSubmission:
    return _waiting_reports(match)[0]


def _waiting_reports(match: Match) -> list[ResultSubmission]:
    waiting = matches.open_reports(match)
    if not waiting:  # PENDING_RESULT always has one; say so plainly if not
        raise Conflict("There is no report waiting for confirmation.")
    return waiting


def _check_screenshots(screenshots: Sequence[uploads.Upload]) -> None:
    if len(screenshots) > MAX_SCREENSHOTS:
        raise Invalid(f"At most {MAX_SCREENSHOTS} screenshots.", {"screenshots": "Too many."})
    for shot in screenshots:
        if shot.kind not in SCREENSHOT_KINDS or len(shot.data) > uploads.MAX_BYTES:
            message = f"“{shot.original_name}”: screenshots are PNG, JPG or WebP up to 5 MB."
            raise Invalid(message, {"screenshots": message})


def evidence_file(actor: User, match: Match, submission_id: int, index: int,
                  ) -> tuple[Path, uploads.Kind]:
    """A screenshot of one of `match`'s reports, for its two sides and the staff only."""
    submission = db.session.get(ResultSubmission, submission_id)
    if submission is None or submission.match_id != match.id or not (
            0 <= index < len(submission.evidence or [])):
        raise NotFound("There is no such screenshot.")
    tournament = db.session.get(Tournament, match.tournament_id)
    if matches.side_of(actor, match) is None:
        actions.require_staff(actor, tournament, "see the evidence of this match")
    relative = submission.evidence[index]
    kind = next(k for k in SCREENSHOT_KINDS if relative.endswith(f".{k.extension}"))
    return uploads.path_of(relative), kind
