"""Running matches: check-in, start, scheduling, forfeits, cancellation, disqualification,
resets — what staff (and, for check-in and start, the two sides) do to a match besides results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    Match,
    MatchState,
    Registration,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, brackets, matches, permissions, registrations, results
from app.services import match_actions as actions
from app.services import match_progression as progression
from app.services.errors import Conflict, IllegalTransition, Invalid, NotAllowed
from app.services.match_rules import FINISHED, Action, transition, validate_links


def check_in(actor: User, match: Match, expected_version: int) -> Match:
    """A side says it is here; the second side's check-in makes the match READY."""
    tournament = actions.begin(match, expected_version, advances=False)
    side = actions.require_side(actor, match, "check in")
    if not tournament.match_checkin:
        raise IllegalTransition(f"{tournament.name} does not use match check-in: play the "
                                "match and report the score.")
    transition(match.state, Action.CHECK_IN)
    opens = progression.checkin_opens(tournament, match)
    if opens is not None and utcnow() < opens:
        raise Invalid(f"Check-in for {matches.label(match)} opens at {opens:%H:%M} UTC "
                      f"({tournament.match_checkin_minutes} minutes before it starts).")
    column = "checked_in_a_at" if side == 0 else "checked_in_b_at"
    if getattr(match, column) is not None:
        return match  # a double click: checked in once
    setattr(match, column, utcnow())
    match.state = MatchState.CHECK_IN
    if match.checked_in_a_at and match.checked_in_b_at:
        match.state = transition(match.state, Action.BOTH_CHECKED_IN)
    actions.record(actor, tournament, match, "checked_in", side=side)
    return match


def start(actor: User, match: Match, expected_version: int) -> Match:
    """READY → LIVE (a side or staff); the clock for "no result after N minutes" starts."""
    tournament = actions.begin(match, expected_version, advances=False)
    if matches.side_of(actor, match) is None:
        actions.require_staff(actor, tournament, "start this match")
    progression.open_if_due(tournament, match, utcnow())  # no match check-in: its time came
    match.state = transition(match.state, Action.START)
    match.started_at = utcnow()
    actions.record(actor, tournament, match, "started")
    return match


def forfeit(actor: User | None, match: Match, side: int, reason: str, expected_version: int,
            *, by_schedule: bool = False) -> Match:
    """Staff: side 0 or 1 forfeits; the opponent wins by walkover. `by_schedule`: the
    sweeper does it (no actor), for a tournament that forfeits no-shows by itself."""
    if side not in (0, 1):
        raise Invalid("Choose which side forfeits.")
    return _walkover(actor, match, reason, expected_version, Action.FORFEIT, "forfeit",
                     lambda play: play.forfeit(match.number, actions.seed_of(match, side)),
                     by_schedule, side=side)


def double_forfeit(actor: User | None, match: Match, reason: str, expected_version: int,
                   *, by_schedule: bool = False) -> Match:
    """Staff: both sides forfeit; neither advances (a bye goes on). See `forfeit`."""
    return _walkover(actor, match, reason, expected_version, Action.FORFEIT, "double_forfeit",
                     lambda play: play.double_forfeit(match.number), by_schedule)


def cancel(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """Staff: the match will not be played; for the bracket it counts as a double forfeit."""
    return _walkover(actor, match, reason, expected_version, Action.CANCEL, "cancelled",
                     lambda play: play.double_forfeit(match.number), False)


def _walkover(actor: User | None, match: Match, reason: str, expected_version: int,
              action: Action, kind: str, operation: Any, by_schedule: bool,
              **data: Any) -> Match:
    tournament = actions.begin(match, expected_version)
    if not (by_schedule and actor is None and tournament.auto_forfeit_no_shows):
        actions.require_staff(actor, tournament, "decide matches")
    target = transition(match.state, action)
    reason = actions.reason_given(reason)
    progression.supersede_open_reports(match)
    actions.apply(actor, tournament, match, operation)
    match.state, match.state_reason, match.completed_at = target, reason, utcnow()
    actions.record(actor, tournament, match, kind, event="match_completed", reason=reason,
                   **data)
    actions.notify(tournament, match, [0, 1],
                   f"{matches.label(match)}: {kind.replace('_', ' ')} — {reason}")
    return match


def disqualify(actor: User, tournament: Tournament, registration: Registration,
               reason: str) -> list[Match]:
    """Remove an entrant from the current stage: walkovers now and in every later match."""
    registrations.lock(tournament)
    if not permissions.can_manage(actor, tournament):
        raise NotAllowed(f"Only the organizers of {tournament.name} can disqualify entrants.")
    actions.require_live(tournament)
    reason = actions.reason_given(reason)
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
            actions.timeline_entry(actor, row, "disqualified", registration_id=registration.id,
                                   reason=reason)
    # Each touched match's page has its event (progression); this one redraws the bracket.
    events.record("bracket_updated", tournament_id=tournament.id, bracket_id=bracket.id)
    return touched


def reset(actor: User, match: Match, reason: str, expected_version: int) -> Match:
    """Put a started or finished match back to READY (undoing its result in the bracket)."""
    tournament = actions.begin(match, expected_version)
    actions.require_manager(actor, tournament, "reset matches")
    target = transition(match.state, Action.RESET)
    reason = actions.reason_given(reason)
    progression.supersede_open_reports(match)
    if match.state in FINISHED:
        actions.refuse_if_dependents_started(match)
        results.supersede_confirmed(match)
        actions.apply(actor, tournament, match, lambda play: play.reopen(match.number))
    match.state, match.state_reason = target, reason
    match.started_at = match.completed_at = None
    actions.record(actor, tournament, match, "reset", reason=reason)
    return match


# --- details: coordinator, lobby, stream -------------------------------------------------------

LOBBY_VALUE_MAX = 100


def set_details(actor: User, match: Match, expected_version: int, *,
                coordinator_id: int | None, lobby: dict[str, str],
                stream_url: str | None) -> Match:
    """Staff set who coordinates the match, its lobby (the game's fields) and its stream.

    The lobby is shown only to the two sides and staff; the stream link to everyone.
    """
    tournament = actions.begin(match, expected_version)
    actions.require_staff(actor, tournament, "change match details")
    if match.state in FINISHED:
        raise Conflict(f"{matches.label(match)} is over; its details can no longer change.")
    errors = {}
    if coordinator_id is not None and not _is_staff(coordinator_id, tournament):
        errors["coordinator"] = "Choose one of this tournament's staff."
    fields = tournament.game.lobby_fields or []
    cleaned = {k: v.strip() for k, v in lobby.items() if k in fields and v and v.strip()}
    if unknown := sorted(set(k for k, v in lobby.items() if v) - set(fields)):
        errors["lobby"] = f"{tournament.game.name} lobbies have no {', '.join(unknown)}."
    if any(len(v) > LOBBY_VALUE_MAX for v in cleaned.values()):
        errors["lobby"] = f"Lobby values are at most {LOBBY_VALUE_MAX} characters."
    stream = (stream_url or "").strip() or None
    if stream is not None:
        try:
            stream = validate_links([stream])[0]
        except Invalid as error:
            errors["stream_url"] = error.message
    if errors:
        raise Invalid("Check the match details.", errors)
    changed = {name: value for name, value in (
        ("coordinator_id", coordinator_id), ("lobby", cleaned), ("stream_url", stream))
        if getattr(match, name) != value}
    if not changed:
        return match
    for name, value in changed.items():
        setattr(match, name, value)
    # The timeline and audit say what changed, never the lobby's values (a password).
    actions.record(actor, tournament, match, "details_changed", fields=sorted(changed))
    if "lobby" in changed and cleaned:
        actions.notify(tournament, match, [0, 1],
                       f"{matches.label(match)}: the lobby details are on the match page.")
    return match


def _is_staff(user_id: int, tournament: Tournament) -> bool:
    user = db.session.get(User, user_id)
    return user is not None and permissions.can_coordinate(user, tournament)
