"""The match state machine and the rules a reported score must follow (pure, no database).

`transition(state, action)` is the one place that says which actions a match allows in which
state (DESIGN.md §3): it returns the state the action leads to, or raises IllegalTransition
with a reason a person can act on ("match is LIVE; a result must be reported first").
`services.matches` calls it before every change, so no other code decides legality.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from urllib.parse import urlsplit

from app.models import MatchState
from app.services.errors import IllegalTransition, Invalid

S = MatchState
MAX_LINKS = 5
MAX_LINK_LENGTH = 300


class Action(enum.StrEnum):
    CHECK_IN = "check_in"  # a side says it is here (the second one makes the match READY)
    BOTH_CHECKED_IN = "both_checked_in"  # system: the second side checked in
    ENTRANTS_KNOWN = "entrants_known"  # system: progression filled the second slot
    START = "start"
    REPORT = "report"  # a side reports the score (from READY it starts the match implicitly)
    CONFIRM = "confirm"  # the opponent (or staff) confirms the pending report
    REJECT = "reject"  # the opponent rejects it, or reports a different score
    AUTO_CONFIRM = "auto_confirm"  # the confirm deadline passed
    SETTLE = "settle"  # staff pick a report or enter the score of a disputed match
    ENTER_RESULT = "enter_result"  # staff enter the final result in any open state
    FORFEIT = "forfeit"  # staff: one side (or both) forfeits
    CANCEL = "cancel"  # staff: the match will not be played (nobody advances)
    CORRECT = "correct"  # staff: change a finished result
    RESET = "reset"  # staff: put a started or finished match back to READY
    SCHEDULE = "schedule"  # staff: set or change the time (CHECK_IN once its window is open)
    OPEN_CHECK_IN = "open_check_in"  # system: the check-in window of a scheduled match opened
    # system, in a tournament without match check-in: the entrants are known (and the
    # scheduled time, if any, has come), so the match can be played at once
    PLAY_OPENS = "play_opens"


A = Action
OPEN = (S.SCHEDULED, S.CHECK_IN, S.READY, S.LIVE, S.PENDING_RESULT, S.DISPUTED)
FINISHED = (S.COMPLETED, S.FORFEIT, S.CANCELLED)
STARTED = (S.LIVE, S.PENDING_RESULT, S.DISPUTED)

TRANSITIONS: dict[tuple[MatchState, Action], MatchState] = {
    (S.PENDING, A.ENTRANTS_KNOWN): S.CHECK_IN,  # or SCHEDULED before its check-in window
    (S.SCHEDULED, A.CHECK_IN): S.CHECK_IN,  # the window decides, not the sweeper
    (S.CHECK_IN, A.CHECK_IN): S.CHECK_IN,
    (S.CHECK_IN, A.BOTH_CHECKED_IN): S.READY,
    (S.READY, A.START): S.LIVE,
    (S.READY, A.REPORT): S.PENDING_RESULT,
    (S.LIVE, A.REPORT): S.PENDING_RESULT,
    (S.PENDING_RESULT, A.CONFIRM): S.COMPLETED,
    (S.PENDING_RESULT, A.AUTO_CONFIRM): S.COMPLETED,
    (S.PENDING_RESULT, A.REJECT): S.DISPUTED,
    (S.DISPUTED, A.SETTLE): S.COMPLETED,
    **{(state, A.ENTER_RESULT): S.COMPLETED for state in OPEN},
    **{(state, A.FORFEIT): S.FORFEIT for state in OPEN},
    **{(state, A.CANCEL): S.CANCELLED for state in OPEN},
    (S.COMPLETED, A.CORRECT): S.COMPLETED,
    (S.FORFEIT, A.CORRECT): S.COMPLETED,
    **{(state, A.RESET): S.READY for state in (*STARTED, *FINISHED)},
    (S.PENDING, A.SCHEDULE): S.PENDING,
    (S.SCHEDULED, A.SCHEDULE): S.SCHEDULED,
    (S.CHECK_IN, A.SCHEDULE): S.SCHEDULED,
    (S.READY, A.SCHEDULE): S.READY,
    (S.SCHEDULED, A.OPEN_CHECK_IN): S.CHECK_IN,
    (S.PENDING, A.PLAY_OPENS): S.READY,
    (S.SCHEDULED, A.PLAY_OPENS): S.READY,
}


def transition(state: MatchState, action: Action) -> MatchState:
    """The state `action` leads to from `state`; IllegalTransition (with why) if not allowed."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise IllegalTransition(f"match is {label(state)}; {_why(state, action)}.")
    return target


def allowed(state: MatchState, action: Action) -> bool:
    return (state, action) in TRANSITIONS


def label(state: MatchState) -> str:
    return state.value.replace("_", " ")


def _why(state: MatchState, action: Action) -> str:
    """The reason `action` is refused in `state`, said as what to do instead."""
    if state == S.PENDING:
        return "its entrants are not known yet"
    if state == S.CANCELLED and action != A.RESET:
        return "it will not be played (staff can reset it)"
    if state in FINISHED and action != A.RESET:
        return "use a correction"
    if action in (A.ENTRANTS_KNOWN, A.BOTH_CHECKED_IN):
        return "its entrants are known already"
    if action == A.SCHEDULE:
        return "it has started; it can no longer be rescheduled"
    if action == A.OPEN_CHECK_IN:
        return "its check-in is not waiting to open"
    if action == A.PLAY_OPENS:
        return "it is not waiting for its entrants or its time"
    if action == A.CHECK_IN:
        return "both sides are checked in already" if state == S.READY else "check-in is over"
    if action in (A.START, A.REPORT):
        return _why_not_play(state, action)
    if action in (A.CONFIRM, A.REJECT, A.AUTO_CONFIRM):
        return ("the staff will settle the dispute" if state == S.DISPUTED
                else "a result must be reported first")
    if action == A.SETTLE:
        return "only a disputed match is settled; enter the result instead"
    if action == A.CORRECT:
        return "only a finished result can be corrected; enter the result instead"
    return "there is nothing to reset"  # A.RESET from a match that has not started


def _why_not_play(state: MatchState, action: Action) -> str:
    if state in (S.SCHEDULED, S.CHECK_IN):
        return "both sides must check in first"
    if state == S.LIVE:
        return "it is live already"
    if state == S.PENDING_RESULT:
        return ("a result waits for confirmation; confirm or reject it" if action == A.REPORT
                else "a result has been reported already")
    return "the staff will settle the dispute"


# --- scores ------------------------------------------------------------------------------


def validate_games(best_of: int, games: Sequence[Sequence[int]]) -> tuple[int, int]:
    """Game wins (a, b) of a legal best-of-`best_of` series given game by game.

    The series ends as soon as one side has best_of // 2 + 1 wins: no games after that, no
    drawn games, scores are whole numbers ≥ 0.
    """
    needed = best_of // 2 + 1
    if not games:
        raise Invalid("Enter the score of each game played.", {"games": "No games entered."})
    wins = [0, 0]
    for number, game in enumerate(games, start=1):
        if max(wins) == needed:
            raise _bad(f"The series was over after game {number - 1} (first to {needed} "
                       f"wins); remove game {number}.")
        a, b = _game(number, game)
        if a == b:
            raise _bad(f"Game {number} is a draw ({a}–{b}); every game needs a winner.")
        wins[0 if a > b else 1] += 1
    if max(wins) < needed:
        raise _bad(f"Best of {best_of} is won with {needed} game wins; the games entered "
                   f"end {wins[0]}–{wins[1]}. Enter every game played.")
    return wins[0], wins[1]


def validate_series(best_of: int, score_a: int, score_b: int) -> tuple[int, int]:
    """A series score entered as game wins only: the winner has exactly best_of // 2 + 1."""
    needed = best_of // 2 + 1
    for value in (score_a, score_b):
        if not _whole(value):
            raise _bad("Game wins are whole numbers, 0 or more.")
    if max(score_a, score_b) != needed or min(score_a, score_b) >= needed:
        raise _bad(f"Best of {best_of} is won with exactly {needed} game wins; "
                   f"{score_a}–{score_b} is not a final score.")
    return score_a, score_b


def _game(number: int, game: Sequence[int]) -> tuple[int, int]:
    if len(game) != 2 or not all(_whole(v) for v in game):
        raise _bad(f"Game {number}: enter two scores, whole numbers 0 or more.")
    return int(game[0]), int(game[1])


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bad(message: str) -> Invalid:
    return Invalid(message, {"games": message})


def validate_links(links: Sequence[str]) -> list[str]:
    """Evidence links: http(s) only, at most MAX_LINKS, each at most MAX_LINK_LENGTH chars."""
    cleaned = [link.strip() for link in links if link and link.strip()]
    if len(cleaned) > MAX_LINKS:
        raise _link_error(f"At most {MAX_LINKS} links ({len(cleaned)} given).")
    for link in cleaned:
        if len(link) > MAX_LINK_LENGTH:
            raise _link_error(f"Links may be at most {MAX_LINK_LENGTH} characters.")
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _link_error(f"“{link[:60]}” is not a web address (http:// or https://).")
    return cleaned


def _link_error(message: str) -> Invalid:
    return Invalid(message, {"links": message})
