"""What the demo's players and staff do to a match, each through the service the site uses.

Each function takes one action (a check-in, a report, a confirmation, a settlement, …) inside
the caller's transaction, flushes it, and returns a `Step` saying what happened in one line;
the caller commits. How a match is meant to end (`outcome`) is deterministic: the smaller
seed number usually wins, with upsets drawn from an RNG seeded per match, so a demo played
twice ends the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.brackets.model import Side
from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchState,
    Registration,
    ResultSubmission,
    StaffMember,
    StaffRole,
    Tournament,
    User,
    utcnow,
)
from app.services import match_control as control
from app.services import match_schedule, matches, results, stages

RNG_SEED = 2026
UPSET_CHANCE = 0.15
DISPUTE_REASON = "That is the wrong way round: we won {score}. The replays show it."
SETTLE_REASON = "Checked the replays of every game; this is the score as played."


@dataclass(frozen=True)
class Step:
    """One action taken: what kind, a line for a person, and the match it touched."""

    kind: str
    text: str
    match_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """How a match is meant to end: the winning side (0 or 1) and each game, in slot order."""

    winner: int
    games: list[list[int]]


def outcome(tournament: Tournament, match: Match) -> Outcome:
    """The deterministic result of `match`: mostly the smaller seed, sometimes an upset."""
    stage = db.session.get(Bracket, match.bracket_id).stage
    rng = random.Random(f"{RNG_SEED}:{tournament.slug}:{stage}:{match.number}")
    favourite = 0 if (match.seed_a or 0) <= (match.seed_b or 0) else 1
    winner = favourite if rng.random() >= UPSET_CHANCE else 1 - favourite
    if _plays_for_reset(match):
        winner = 1  # the losers' bracket finalist takes the first final, so the reset is played
    return Outcome(winner, _games(match.best_of, winner, rng))


def _plays_for_reset(match: Match) -> bool:
    bracket = db.session.get(Bracket, match.bracket_id)
    return (match.side == Side.GRAND_FINAL and match.reset_of is None
            and (bracket.settings or {}).get("grand_final") == "reset")


def _games(best_of: int, winner: int, rng: random.Random) -> list[list[int]]:
    """A legal best-of series won by `winner`: it takes the last game, the loser some before."""
    needed = best_of // 2 + 1
    sides = [winner] * (needed - 1) + [1 - winner] * rng.randint(0, needed - 1)
    rng.shuffle(sides)
    games = []
    for side in [*sides, winner]:
        points = rng.choice((2, 3))
        other = rng.randint(0, points - 1)
        games.append([points, other] if side == 0 else [other, points])
    return games


# --- the actions -------------------------------------------------------------------------


def check_in(match: Match, side: int) -> Step:
    """Side `side` checks in (the second check-in makes the match READY)."""
    regs = entrants(match)
    control.check_in(regs[side].user, match, match.version)
    _flush(match)
    ready = " — ready to play" if match.state == MatchState.READY else ""
    return Step("checked_in", f"{label(match)} {regs[side].name} checked in{ready}", match.id)


def start(match: Match) -> Step:
    """A side starts the match (READY → LIVE)."""
    a, b = entrants(match)
    control.start(a.user, match, match.version)
    _flush(match)
    return Step("started", f"{label(match)} {a.name} vs {b.name} is live", match.id)


def report(tournament: Tournament, match: Match, *, mistaken: bool = False) -> Step:
    """The winner reports the games; a `mistaken` report is the loser's, the wrong way round."""
    regs, result = entrants(match), outcome(tournament, match)
    side, games = result.winner, result.games
    if mistaken:
        side, games = 1 - side, [[b, a] for a, b in games]
    submission = results.report(regs[side].user, match, games, match.version)
    _flush(match)
    return _score_step("reported", match, regs, submission,
                       f"reported by {regs[side].name}, waiting for confirmation")


def confirm(match: Match) -> Step:
    """The opponent of the side that reported confirms the waiting report."""
    regs, waiting = entrants(match), matches.open_reports(match)[0]
    results.confirm(regs[1 - waiting.side].user, match, match.version)
    _flush(match)
    return _score_step("confirmed", match, regs, waiting, "confirmed")


def reject(tournament: Tournament, match: Match) -> Step:
    """The opponent rejects the waiting report, saying what the score really was."""
    regs, waiting = entrants(match), matches.open_reports(match)[0]
    games = outcome(tournament, match).games
    wins = sum(a > b for a, b in games), sum(b > a for a, b in games)
    opponent = 1 - waiting.side
    reason = DISPUTE_REASON.format(score=f"{wins[opponent]}–{wins[1 - opponent]}")
    results.reject(regs[opponent].user, match, reason, match.version)
    _flush(match)
    return _score_step("rejected", match, regs, waiting, f"rejected by {regs[opponent].name}")


def settle(tournament: Tournament, match: Match) -> Step:
    """The organizer settles the dispute by entering the score as it was played."""
    regs, staff = entrants(match), organizer(tournament)
    games = outcome(tournament, match).games
    results.settle(staff, match, match.version, games=games, reason=SETTLE_REASON)
    _flush(match)
    return _score_step("settled", match, regs, match, f"settled by {staff.display_name}")


def expire(match: Match) -> Step:
    """Nobody confirms: the report's deadline passes and the sweeper's path confirms it."""
    regs, waiting = entrants(match), matches.open_reports(match)[0]
    now = utcnow()
    # Fast-forward this one report's clock; everything after it is what the sweeper does.
    waiting.confirm_deadline = now - timedelta(seconds=1)
    db.session.flush()
    results.confirm_due(now)
    _flush(match)
    return _score_step("auto_confirmed", match, regs, waiting,
                       "auto-confirmed: nobody answered before the deadline")


def schedule(tournament: Tournament, match: Match, when: datetime) -> Step:
    """The organizer sets the time of a match (moving it to now calls it early)."""
    staff, previous = organizer(tournament), match.scheduled_at
    match_schedule.schedule(staff, match, when, match.version)
    _flush(match)
    moved = f"moved from {previous:%H:%M} to" if previous else "scheduled for"
    opened = "; check-in is open" if match.state == MatchState.CHECK_IN else ""
    return Step("scheduled", f"{label(match)} {moved} {when:%H:%M} UTC by "
                             f"{staff.display_name}{opened}", match.id)


def generate_playoffs(tournament: Tournament) -> Step:
    """The organizer seeds the playoffs from the finished groups."""
    groups = db.session.scalar(select(Bracket).where(
        Bracket.tournament_id == tournament.id, Bracket.stage == 1))
    playoffs = stages.generate_playoffs(organizer(tournament), tournament, groups.version)
    db.session.flush()
    return Step("playoffs", f"Groups finished: playoffs generated for the top "
                            f"{playoffs.entrants}")


# --- who and what ------------------------------------------------------------------------


def entrants(match: Match) -> tuple[Registration, Registration]:
    """The two sides' registrations; each acts through its registrant (a team's captain).

    Read once per action: an action never changes who plays in the match it acts on.
    """
    a, b = matches.registrations_of(match)
    if a is None or b is None:
        raise ValueError(f"{matches.label(match)} does not have both entrants yet.")
    return a, b


def organizer(tournament: Tournament) -> User:
    """The tournament's first organizer: the staff member who settles and schedules."""
    staff = db.session.scalar(select(User).join(StaffMember, StaffMember.user_id == User.id)
                              .where(StaffMember.tournament_id == tournament.id,
                                     StaffMember.role == StaffRole.ORGANIZER)
                              .order_by(StaffMember.id).limit(1))
    if staff is None:  # never act as "nobody": the services read None as the system itself
        raise LookupError(f"{tournament.name} has no organizer.")
    return staff


def label(match: Match) -> str:
    """`M17`, or `Playoffs M3` for a match of a later stage (numbers restart there)."""
    stage = db.session.get(Bracket, match.bracket_id).stage
    return matches.label(match) if stage == 1 else f"Playoffs {matches.label(match)}"


def _score_step(kind: str, match: Match, regs: tuple[Registration, Registration],
                scored: Match | ResultSubmission, how: str) -> Step:
    text = f"{label(match)} {regs[0].name} {scored.score_a}–{scored.score_b} {regs[1].name} ({how})"
    return Step(kind, text, match.id)


def _flush(match: Match) -> None:
    """Write the action out and re-read the match, as a request's commit would."""
    db.session.flush()
    db.session.refresh(match)
