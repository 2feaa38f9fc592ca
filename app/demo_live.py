"""`flask demo live`: a tournament played forward by its demo players and staff, live.

`step` looks at the tournament as it is now and takes the one next action (through
`demo_players`, i.e. the services the site uses); `run` commits each step in its own
transaction, so spectators' pages receive every event as the bracket moves. What to do next
is read from the database, never remembered, so an interrupted run carries on where it
stopped. Over the whole tournament the players stage one dispute (a report the wrong way
round, rejected by the opponent and settled by the organizer) and leave one report
unconfirmed until its deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy import func, select

from app import demo_players as players
from app.database import write_intent
from app.demo_players import Step
from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchEvent,
    MatchState,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    utcnow,
)
from app.services import brackets, matches, stages
from app.services import match_progression as progression
from app.services.match_rules import OPEN

IDLE_SECONDS = 2.0  # without --until complete: how often to look again when nothing is due


class CannotPlay(Exception):
    """The tournament cannot be played forward; the message says why and what to do."""


def tournament_named(slug: str) -> Tournament:
    """The tournament `slug`, checked playable: live (or completed) with a finalized bracket."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise CannotPlay(f"There is no tournament “{slug}” (run `flask --app wsgi demo` first).")
    if tournament.status == Status.COMPLETED:
        return tournament
    bracket = brackets.current(tournament)
    if bracket is None:
        raise CannotPlay(f"{tournament.name} has no bracket yet; generate one first.")
    if not bracket.finalized:
        raise CannotPlay(f"The bracket of {tournament.name} is not finalized yet; finalize it "
                         "on its bracket page first (its matches cannot be played before).")
    if tournament.status != Status.LIVE:
        state = tournament.status.value.lower().replace("_", " ")
        raise CannotPlay(f"{tournament.name} is {state}; matches are played while it is live.")
    try:
        players.organizer(tournament)
    except LookupError as error:
        raise CannotPlay(f"{error} Add one: disputes and playoffs need staff.") from error
    return tournament


def step(tournament: Tournament) -> Step | None:
    """Take the next action in `tournament`; None when there is nothing to do now."""
    if tournament.status != Status.LIVE:
        return None
    for match in _open_matches(tournament):
        if (action := next_action(tournament, match)) is not None:
            return action()
    groups = brackets.current(tournament)
    if groups is not None and stages.playoffs_due(groups):
        return players.generate_playoffs(tournament)
    return None


def next_action(tournament: Tournament, match: Match) -> Callable[[], Step] | None:
    """What the players (or staff) of `match` do next, given its state."""
    state = match.state
    if state in (MatchState.SCHEDULED, MatchState.CHECK_IN):
        if not _checkin_open(tournament, match):  # scheduled for later: call it early
            return partial(players.schedule, tournament, match, utcnow())
        return partial(players.check_in, match, 0 if match.checked_in_a_at is None else 1)
    if state == MatchState.READY:
        return partial(players.start, match)
    if state == MatchState.LIVE:
        return partial(players.report, tournament, match, mistaken=not _had_dispute(tournament))
    if state == MatchState.DISPUTED:
        return partial(players.settle, tournament, match)
    if state == MatchState.PENDING_RESULT:
        return _answer(tournament, match)
    return None


def _answer(tournament: Tournament, match: Match) -> Callable[[], Step] | None:
    """The opponent's answer to a waiting report: reject a wrong one, ignore one, or confirm."""
    waiting = matches.open_reports(match)
    if not waiting:
        return None
    report = waiting[0]
    truth = players.outcome(tournament, match)
    if not _had_dispute(tournament) and (report.score_a > report.score_b) != (truth.winner == 0):
        return partial(players.reject, tournament, match)
    if not _had(tournament, "auto_confirmed") and report.id == _oldest_waiting(tournament):
        return partial(players.expire, match)
    return partial(players.confirm, match)


def _open_matches(tournament: Tournament) -> list[Match]:
    return list(db.session.scalars(
        select(Match).join(Bracket, Bracket.id == Match.bracket_id)
        .where(Match.tournament_id == tournament.id, Match.state.in_(OPEN))
        .order_by(Bracket.stage, Match.number)))


def _checkin_open(tournament: Tournament, match: Match) -> bool:
    opens = progression.checkin_opens(tournament, match)
    return opens is None or utcnow() >= opens


def _had_dispute(tournament: Tournament) -> bool:
    return _had(tournament, "rejected", "disputed")


def _had(tournament: Tournament, *kinds: str) -> bool:
    """Whether any match of the tournament has one of `kinds` in its timeline."""
    return db.session.scalar(select(MatchEvent.id).where(
        MatchEvent.tournament_id == tournament.id, MatchEvent.kind.in_(kinds)).limit(1)) is not None


def _oldest_waiting(tournament: Tournament) -> int | None:
    return db.session.scalar(select(func.min(ResultSubmission.id))
                             .join(Match, Match.id == ResultSubmission.match_id)
                             .where(Match.tournament_id == tournament.id,
                                    ResultSubmission.status == SubmissionStatus.PENDING))


def summary(tournament: Tournament) -> str:
    """The closing line: who won, or that nothing can be played for now."""
    if tournament.status == Status.COMPLETED:
        champion = progression.champion(tournament)
        who = f"champion: {champion.name}" if champion else "no champion on record"
        return f"{tournament.name} is completed ({who})."
    return f"{tournament.name}: nothing can be played right now."


# --- the loop ----------------------------------------------------------------------------


def run(slug: str, *, pace: float, until_complete: bool, echo: Callable[[str], None]) -> None:
    """Play `slug` forward, one committed action every `pace` seconds, until it completes.

    With `until_complete`, a tournament that cannot go on (nothing to play, not completed)
    raises CannotPlay instead of waiting for someone to act on the site.
    """
    with _transaction():
        tournament_id = tournament_named(slug).id
    idle = False
    while True:
        done, taken, line = _advance(tournament_id)
        if taken is not None:
            echo(taken.text)
        if done:
            echo(line)
            return
        if taken is None and until_complete:
            raise CannotPlay(f"{line} It is not completed, so --until complete cannot finish.")
        if taken is None and not idle:  # say so once, then wait for someone on the site
            echo(f"{line} Waiting for someone on the site to act…")
        idle = taken is None
        time.sleep(max(pace, IDLE_SECONDS) if idle else pace)


def _advance(tournament_id: int) -> tuple[bool, Step | None, str]:
    """One step in its own transaction: (tournament completed, the step taken, summary)."""
    try:
        with _transaction():
            taken = step(db.session.get(Tournament, tournament_id))
    except matches.MatchChanged:  # someone on the site acted first: look again
        taken = Step("changed", "A match changed meanwhile (someone acted on the site); "
                                "looking again")
    with _transaction():
        tournament = db.session.get(Tournament, tournament_id)
        done = tournament.status == Status.COMPLETED
        line = summary(tournament) if done or taken is None else ""
    return done, taken, line


@contextmanager
def _transaction() -> Iterator[None]:
    """A writer's transaction (SQLite: the write lock up front), committed or rolled back."""
    with write_intent():
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
