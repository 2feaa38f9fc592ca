"""Applying a result to the bracket: engine progression, match states, Swiss rounds, the end.

Called by `services.matches` inside the transaction of the action that decided a match, with
the tournament row lock held. The engine `Play` is the one this process kept from the
bracket's last result when nobody wrote the bracket since, else rebuilt from its rows
(`bracket_rows.play_to_change`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.brackets.model import BracketError
from app.brackets.model import Format as EngineFormat
from app.brackets.play import Play
from app.brackets.standings import standings
from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchState,
    MatchStatus,
    Registration,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, bracket_rows, brackets, match_log, stages, tournaments
from app.services.errors import IllegalTransition
from app.services.match_rules import Action, transition

Operation = Callable[[Play], list[int]]


def apply(actor: User | None, tournament: Tournament, bracket: Bracket, operation: Operation,
          *, acted: int | None = None) -> list[Match]:
    """Run an engine operation on `match`'s bracket and write every consequence back.

    Takes the stage's engine play (kept, or read from the state columns; the structure is
    cached, see `bracket_rows`), applies the operation, and loads and writes only the rows it
    touched. The caller sets the state of match number `acted` itself. Returns those rows.
    """
    play = bracket_rows.play_to_change(bracket)
    before = [tuple(state.slots) for state in play.states]
    try:
        touched = operation(play)
    except BaseException as error:
        bracket_rows.forget_play(bracket)  # the operation may have changed part of it
        if isinstance(error, BracketError):
            raise IllegalTransition(f"The bracket does not allow this: {error}.") from error
        raise
    by_number = bracket_rows.write_states(bracket, play, touched)
    if touched:
        bracket_rows.changed(bracket)
    if play.disqualified != set(bracket.settings.get("disqualified", [])):
        bracket.settings = {**bracket.settings, "disqualified": sorted(play.disqualified)}
    now = utcnow()
    followed = []
    for number in touched:
        if number != acted:
            row = by_number[number]
            follow(tournament, row, before[number], now)
            # Its page updates too; the acting match's own event redraws the bracket.
            followed.append(("match_updated", tournament.id,
                             {"match_id": row.id, "state": row.state.value, "follow": True}))
    match_log.outbox_soon(followed)
    _after(actor, tournament, bracket, play)
    return [by_number[n] for n in touched]


def follow(tournament: Tournament, row: Match, slots_before: tuple, now: datetime) -> None:
    """Bring a match the engine changed as a consequence into the matching operational state."""
    status = row.status
    if status == MatchStatus.COMPLETED:
        row.state = MatchState.FORFEIT if row.outcome == "disqualified" else MatchState.COMPLETED
        row.completed_at = now
        supersede_open_reports(row)
    elif status == MatchStatus.SKIPPED:
        row.state = MatchState.CANCELLED
    elif status == MatchStatus.READY:
        if row.state == MatchState.PENDING or (row.seed_a, row.seed_b) != slots_before:
            arrive(tournament, row, now)
    else:  # an entrant was taken out again (a correction): nothing can happen here yet
        row.state = MatchState.PENDING
        _clear_play(row)
        row.completed_at = None


def arrive(tournament: Tournament, row: Match, now: datetime) -> None:
    """Both entrants are known: check-in opens now, or at its window before the scheduled time.

    Without match check-in the match is READY at once, or SCHEDULED until its time.
    """
    _clear_play(row)
    opens = checkin_opens(tournament, row)
    row.state = opened_state(tournament) if opens is None or now >= opens else MatchState.SCHEDULED
    match_log.timeline(None, row, [("entrants_known", {"state": row.state.value})])


def checkin_opens(tournament: Tournament, row: Match) -> datetime | None:
    """When check-in opens for this match (None: it has no scheduled time, so now).

    Without match check-in: when it can be played, its scheduled time.
    """
    if row.scheduled_at is None:
        return None
    if not tournament.match_checkin:
        return row.scheduled_at
    return row.scheduled_at - timedelta(minutes=tournament.match_checkin_minutes)


def opened_state(tournament: Tournament) -> MatchState:
    """The state a match with known entrants enters once its check-in (or play) opens."""
    return MatchState.CHECK_IN if tournament.match_checkin else MatchState.READY


def clock_state(tournament: Tournament, row: Match) -> MatchState:
    """The state a match is in by the clock: a SCHEDULED match whose window has opened is
    already in `opened_state` (the row catches up at its first action, or the sweep)."""
    if row.state != MatchState.SCHEDULED:
        return row.state
    opens = checkin_opens(tournament, row)
    return opened_state(tournament) if opens is None or utcnow() >= opens else row.state


def opening_action(tournament: Tournament) -> Action:
    """The system action that moves a SCHEDULED match on when its window opens."""
    return Action.OPEN_CHECK_IN if tournament.match_checkin else Action.PLAY_OPENS


def open_if_due(tournament: Tournament, row: Match, now: datetime) -> bool:
    """Without match check-in, a SCHEDULED match whose time has come is READY now (the time
    decides, not the sweeper); True when it moved."""
    if tournament.match_checkin or row.state != MatchState.SCHEDULED:
        return False
    opens = checkin_opens(tournament, row)
    if opens is not None and now < opens:
        return False
    row.state = transition(row.state, Action.PLAY_OPENS)
    match_log.timeline(None, row, [("play_opened", {})])
    return True


def checkin_setting_changed(tournament: Tournament) -> int:
    """Match check-in was turned off while matches wait in CHECK_IN: they are READY now.

    (Turned on, nothing moves: a READY match stays ready; the next ones check in.) The rows
    are locked, so a check-in at the same moment is either seen here or sees the change.
    """
    if tournament.match_checkin:
        return 0
    waiting = list(db.session.scalars(select(Match).where(
        Match.tournament_id == tournament.id, Match.state == MatchState.CHECK_IN)
        .with_for_update().execution_options(populate_existing=True)))
    for row in waiting:
        row.state = MatchState.READY
        match_log.timeline(None, row, [("check_in_dropped", {})])
        events.record("match_updated", tournament_id=tournament.id, match_id=row.id,
                      state=row.state.value, follow=True)
    return len(waiting)


def _clear_play(row: Match) -> None:
    row.checked_in_a_at = row.checked_in_b_at = None
    row.started_at = None


def supersede_open_reports(row: Match) -> None:
    """Reports still waiting on a match that was decided another way no longer count."""
    db.session.execute(
        update(ResultSubmission)
        .where(ResultSubmission.match_id == row.id,
               ResultSubmission.status == SubmissionStatus.PENDING)
        .values(status=SubmissionStatus.SUPERSEDED, decided_at=utcnow())
        .execution_options(synchronize_session=False))


# --- after a result ----------------------------------------------------------------------


def _after(actor: User | None, tournament: Tournament, bracket: Bracket, play: Play) -> None:
    if bracket.format == EngineFormat.SWISS:
        from app.brackets import swiss

        if swiss.can_pair_next(play):
            new = stages.pair_next_swiss_round(None, tournament)
            now = utcnow()
            for row in new:
                if row.status == MatchStatus.READY:
                    arrive(tournament, row, now)
            if new:
                return
    if play.finished() and _final_stage(bracket):
        complete_tournament(actor, tournament, play, bracket)


def _final_stage(bracket: Bracket) -> bool:
    """Groups of a round robin lead to playoffs: finishing them does not end the event."""
    return not (bracket.format == EngineFormat.ROUND_ROBIN and bracket.stage == 1
                and (bracket.settings or {}).get("groups", 1) > 1)


def complete_tournament(actor: User | None, tournament: Tournament, play: Play,
                        bracket: Bracket) -> None:
    """Every match of the final stage is decided: the tournament is COMPLETED, once."""
    if tournament.status != Status.LIVE:
        return
    tournaments.transition(actor, tournament, Status.COMPLETED, Status.LIVE)
    top = standings(play)[0].seeds
    champion = stages.registrations_by_seed(bracket).get(top[0]) if len(top) == 1 else None
    audit.record(actor, "tournament.completed", tournament, tournament=tournament,
                 champion_registration_id=champion.id if champion else None)


def champion(tournament: Tournament) -> Registration | None:
    """The winner of a completed tournament (the first place of its final stage)."""
    if tournament.status != Status.COMPLETED:
        return None
    bracket = brackets.current(tournament, 2) or brackets.current(tournament)
    if bracket is None:
        return None
    _, play = bracket_rows.load_play(bracket)
    top = standings(play)[0].seeds
    return stages.registrations_by_seed(bracket).get(top[0]) if len(top) == 1 else None


def rows_by_number(bracket_id: int, numbers: Iterable[int]) -> dict[int, Match]:
    return {r.number: r for r in db.session.scalars(select(Match).where(
        Match.bracket_id == bracket_id, Match.number.in_(list(numbers))))}
