"""The steps every match action shares, in this order, inside the caller's transaction.

Take the tournament row lock (`registrations.lock`: one writer per tournament, so two
clicks run one after the other), re-read the match, check who may act on THIS match,
refuse a stale page (`expected_version` is the match's version when the page rendered),
ask `match_rules.transition` whether the action is legal, change the rows, and append an
audit row, a timeline entry (MatchEvent) and an outbox event. The loser of a race therefore
always gets a Conflict (409) that says the match changed, never a second advancement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select

from app import database
from app.extensions import db
from app.models import Bracket, Match, Status, Tournament, User
from app.services import (
    audit,
    bracket_rows,
    match_log,
    matches,
    permissions,
    registrations,
    stages,
)
from app.services import match_progression as progression
from app.services.errors import Conflict, Invalid, NotAllowed

REASON_MAX = 500
# Built once (every action on PostgreSQL runs it): lock and re-read the match, and its
# bracket in the same round trip (read after the tournament's lock, so current too). FOR NO
# KEY UPDATE, as the tournament's (`registrations.lock`): rows referring to the match are
# written meanwhile.
_LOCK_MATCH = (select(Match, Bracket).join(Bracket, Bracket.id == Match.bracket_id)
               .where(Match.id == bindparam("id"))
               .with_for_update(of=Match, key_share=True)
               .execution_options(populate_existing=True))


def begin(match: Match, expected_version: int | None, *, advances: bool = True) -> Tournament:
    """Lock, re-read the match, refuse a stale page or a match not in play.

    An action that may move the bracket on (`advances`) takes the tournament's row lock: one
    such writer per tournament, so progression never interleaves. An action that changes
    this match only (check-in, start, a first report) locks just its row, so the other
    matches of the tournament go on meanwhile. Both then hold the match row (the UPDATE takes
    it), in the same order, so they never deadlock. On SQLite a request's transaction that
    began with BEGIN IMMEDIATE holds the one write lock since before it read anything, so
    what it read is current: the lock and the re-read would only repeat those reads.
    """
    tournament = db.session.get(Tournament, match.tournament_id)
    # (Objects read in an earlier transaction were expired by its end, so they are current.)
    if not database.holds_write_lock(db.session.connection()):
        if advances:
            registrations.lock(tournament)
        # Fetched, not just executed: the ORM refreshes the objects as it reads the rows.
        matches.keep_bracket(db.session.execute(_LOCK_MATCH, {"id": match.id}).one()[1])
    bracket = matches.bracket_of(match)
    if advances:  # every writer of the bracket holds the tournament's lock: no new read
        bracket_rows.read_current(bracket)
    if expected_version is not None and match.version != expected_version:
        raise matches.MatchChanged(match)
    require_live(tournament)
    if not bracket.finalized:
        raise Conflict("This bracket is not published yet; its matches cannot be played.")
    return tournament


def pinned(match: Match, expected_version: int | None) -> bool:
    """Whether what is read of `match` now (its reports, who plays it) is still true once
    `begin` accepts the page, so it may be read before the locks: the match is at the page's
    version already, versions only grow, and the match's slots and reports change only with
    its row (every writer of a report changes the match's state too), which bumps it."""
    return expected_version is not None and match.version == expected_version


def require_live(tournament: Tournament) -> None:
    if tournament.status != Status.LIVE:
        raise Conflict(f"The tournament is {tournament.status.value.lower().replace('_', ' ')}"
                       "; matches are played while it is live.")


def require_side(actor: User, match: Match, what: str) -> int:
    side = matches.side_of(actor, match)
    if side is None:
        raise NotAllowed(f"Only the two sides of {matches.label(match)} can {what}.")
    return side


def require_staff(actor: User | None, tournament: Tournament, what: str) -> None:
    """Staff of this tournament (never nobody: system actions say so where they run)."""
    if not permissions.can_coordinate(actor, tournament):
        raise NotAllowed(f"Only the staff of {tournament.name} can {what}.")


def require_manager(actor: User, tournament: Tournament, what: str) -> None:
    if not permissions.can_manage(actor, tournament):
        raise NotAllowed(f"Only the organizers of {tournament.name} can {what}.")


def refuse_if_dependents_started(match: Match) -> None:
    if blocking := matches.started_dependents(match):
        raise matches.DependentsStarted(blocking)
    bracket = db.session.get(Bracket, match.bracket_id)
    if stages.current_playoffs(bracket) is not None and (bracket.settings or {}).get(
            "groups", 1) > 1:
        raise Conflict("The playoffs were seeded from these group results; they can no "
                       "longer change.")


def reason_given(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason; it is shown to both sides.", {"reason": "Required."})
    if len(reason) > REASON_MAX:
        raise Invalid(f"At most {REASON_MAX} characters.", {"reason": "Too long."})
    return reason


def seed_of(match: Match, side: int) -> int:
    return match.seed_a if side == 0 else match.seed_b


def apply(actor: User | None, tournament: Tournament, match: Match, operation: Any) -> None:
    progression.apply(actor, tournament, matches.bracket_of(match), operation,
                      acted=match.number)


def timeline_entry(actor: User | None, match: Match, kind: str, **data: Any) -> None:
    match_log.timeline(actor, match, [(kind, data)])


def record(actor: User | None, tournament: Tournament, match: Match, kind: str, *,
           event: str = "match_updated", before: Sequence[match_log.Entry] = (),
           **data: Any) -> None:
    """The audit row, the timeline entry (after the `before` ones) and the outbox event of one
    action, in Core SQL (`match_log`)."""
    data = {k: v for k, v in data.items() if v is not None}
    match_log.audit(audit.values(actor, f"match.{kind}", match, tournament=tournament,
                                 number=match.number, **data))
    match_log.timeline(actor, match, [*before, (kind, data)])
    match_log.outbox([(event, tournament.id, {"match_id": match.id,
                                              "state": match.state.value})])


def notify(tournament: Tournament, match: Match, sides: Sequence[int | None], text: str) -> None:
    """An in-app notice to every player of the given sides of `match`."""
    sets = matches.side_users(match)
    users = {u for side in sides if side is not None for u in sets[side]}
    match_log.notifications(users, tournament.id, match.id, text)
