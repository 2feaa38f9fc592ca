"""Playing a bracket: results, progression, byes, forfeits, disqualifications, corrections.

Entrants are seed numbers; `BYE` (0) stands for a bye and None for "not decided yet". Every
operation applies its consequences at once by following the matches' links, so it touches
only the matches involved, and returns their ids (what a service writes back):

- a match with a bye in one slot completes as soon as its other slot is known, so a bye never
  leaves a match waiting; two byes send a bye forward;
- a forfeit is a loss for the forfeiting entrant (in double elimination they drop as usual);
- a double forfeit eliminates both entrants and sends a bye to both destinations;
- a disqualified entrant loses their open match by walkover and is replaced by a bye wherever
  they would have gone next, so each future opponent gets a walkover;
- a grand-final reset is filled only if the first final is won from its slot 1 (the losers
  bracket's champion) by a real result over a real entrant; otherwise it is `SKIPPED`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.brackets.model import BYE, Bracket, BracketError, Link, Match


class Status(enum.StrEnum):
    LOCKED = "locked"  # neither entrant known yet
    WAITING = "waiting"  # one slot known (possibly a bye): not playable
    READY = "ready"  # two real entrants: can be played
    COMPLETED = "completed"
    SKIPPED = "skipped"  # a grand-final reset that is not needed


class Outcome(enum.StrEnum):
    PLAYED = "played"
    BYE = "bye"
    FORFEIT = "forfeit"
    DOUBLE_FORFEIT = "double_forfeit"
    DISQUALIFIED = "disqualified"


# The members as module constants: reading a member off its enum class costs ten times a
# global lookup, and progression reads them on every placement (see bench/brackets.py).
LOCKED, WAITING, READY = Status.LOCKED, Status.WAITING, Status.READY
COMPLETED, SKIPPED = Status.COMPLETED, Status.SKIPPED
PLAYED, BY_BYE, FORFEIT = Outcome.PLAYED, Outcome.BYE, Outcome.FORFEIT
DOUBLE_FORFEIT, DISQUALIFIED = Outcome.DOUBLE_FORFEIT, Outcome.DISQUALIFIED


@dataclass(slots=True)
class MatchState:
    """What is known of one match: its entrants, status and result."""

    slots: list[int | None] = field(default_factory=lambda: [None, None])
    status: Status = Status.LOCKED
    winner: int | None = None  # a seed, or BYE after a double forfeit or two byes
    loser: int | None = None
    outcome: Outcome | None = None
    scores: tuple[int, int] | None = None  # games won by slot 0 and slot 1


class Play:
    """A bracket in play: one `MatchState` per match, indexed by match id."""

    def __init__(
        self,
        bracket: Bracket,
        states: Sequence[MatchState] | None = None,
        disqualified: Iterable[int] = (),
    ) -> None:
        """Start the bracket (seeds placed, byes applied), or resume it from saved states.

        Operations reach states only by id along the links, so a service may pass a sequence
        that loads state rows on demand (`build` remakes the structure from the same settings);
        only `ready`, `finished` and `disqualify` read every state.
        """
        self.bracket = bracket
        self.matches = bracket.matches
        self.disqualified: set[int] = set(disqualified)
        self._touched: list[int] = []
        self._ready: set[int] | None = None  # ids of ready matches, once someone asks
        if states is not None:
            if len(states) != len(self.matches):
                raise BracketError("saved states do not match the bracket")
            self.states = states
            return
        self.states = [MatchState([None, None]) for _ in self.matches]
        self._ready = set()
        for match in self.matches:
            for slot, source in enumerate(match.slots):
                if source.kind == "seed":
                    self._place(Link(match.id, slot), source.ref)
                elif source.kind == "bye":
                    self._place(Link(match.id, slot), BYE)

    def resume(self, states: Mapping[int, MatchState], disqualified: Iterable[int]) -> None:
        """Take the states saved since this play was made (by another process, say)."""
        for match_id, state in states.items():
            self.states[match_id] = state
        self.disqualified = set(disqualified)
        self._ready = None

    # -- queries --------------------------------------------------------------------------

    def ready(self) -> list[int]:
        """Ids of the matches that can be played now."""
        if self._ready is None:
            self._ready = {i for i, s in enumerate(self.states) if s.status == READY}
        return sorted(self._ready)

    def finished(self) -> bool:
        """Whether every match is decided (completed, or a reset that is not needed)."""
        return all(s.status in (COMPLETED, SKIPPED) for s in self.states)

    # -- operations -----------------------------------------------------------------------

    def record(self, match_id: int, winner: int, scores: tuple[int, int] | None = None,
               ) -> list[int]:
        """Record that `winner` won match `match_id`; return the ids of the changed matches."""
        state = self._open_state(match_id)
        loser = self._opponent(state, winner)
        if scores is not None:
            _check_scores(state, winner, scores)
        self._touched = touched = []  # _run, inlined: the hot path of every result
        self._complete(match_id, winner, loser, PLAYED, scores)
        return list(dict.fromkeys(touched))

    def forfeit(self, match_id: int, entrant: int) -> list[int]:
        """`entrant` forfeits match `match_id`: their opponent wins by walkover."""
        state = self._open_state(match_id)
        winner = self._opponent(state, entrant)
        return self._run(self._complete, match_id, winner, entrant, FORFEIT, None)

    def double_forfeit(self, match_id: int) -> list[int]:
        """Both entrants forfeit: both are eliminated and a bye goes forward."""
        self._open_state(match_id)
        return self._run(self._complete, match_id, BYE, BYE, DOUBLE_FORFEIT, None)

    def disqualify(self, entrant: int) -> list[int]:
        """Remove `entrant` from the event: walkovers now and in every match they would reach."""
        if not 1 <= entrant <= self.bracket.entrants:
            raise BracketError(f"no entrant with seed {entrant}")
        if entrant in self.disqualified:
            return []
        self.disqualified.add(entrant)
        return self._run(self._remove, entrant)

    def reopen(self, match_id: int) -> list[int]:
        """Undo a result so it can be recorded again; later matches it decided are undone too."""
        state = self.states[match_id]
        if state.status != COMPLETED or state.outcome in (BY_BYE,
                                                                 DISQUALIFIED):
            raise BracketError(f"match {match_id} has no result that can be reopened")
        if any(e in self.disqualified for e in state.slots):
            raise BracketError(f"match {match_id} involves a disqualified entrant")
        return self._run(self._reopen, match_id)

    def extend(self, matches: Sequence[Match]) -> list[int]:
        """Start matches just appended to the bracket (a Swiss round): seeds and byes placed.

        The bracket grows while in play only in Swiss, whose matches have no feeders, so the
        new states start as `__init__` starts them. `states` must be a list here.
        """
        for offset, match in enumerate(matches):
            if match.id != len(self.states) + offset or self.matches[match.id] is not match:
                raise BracketError("only matches just appended to the bracket can be started")
        self._touched = []
        for match in matches:
            self.states.append(MatchState([None, None]))  # type: ignore[attr-defined]
            for slot, source in enumerate(match.slots):
                if source.kind in ("seed", "bye"):
                    entrant = source.ref if source.kind == "seed" else BYE
                    self._place(Link(match.id, slot), entrant)
        return list(dict.fromkeys(self._touched))

    # -- progression ----------------------------------------------------------------------

    def _run(self, action: Callable[..., None], *args: object) -> list[int]:
        self._touched = []
        action(*args)
        return list(dict.fromkeys(self._touched))

    def _open_state(self, match_id: int) -> MatchState:
        if not 0 <= match_id < len(self.states):
            raise BracketError(f"no match {match_id}")
        state = self.states[match_id]
        if state.status != READY:
            raise BracketError(f"match {match_id} is {state.status}, not ready")
        return state

    @staticmethod
    def _opponent(state: MatchState, entrant: int) -> int:
        a, b = state.slots
        if entrant == a:
            return b  # type: ignore[return-value]
        if entrant == b:
            return a  # type: ignore[return-value]
        raise BracketError(f"seed {entrant} is not in this match")

    def _place(self, link: Link, entrant: int) -> None:
        if entrant in self.disqualified:
            entrant = BYE
        state = self.states[link.match]
        state.slots[link.slot] = entrant
        self._touched.append(link.match)
        a, b = state.slots
        if a is None or b is None:
            state.status = WAITING
        elif a == BYE:
            self._complete(link.match, b, a, BY_BYE, None)
        elif b == BYE:
            self._complete(link.match, a, b, BY_BYE, None)
        else:
            state.status = READY
            if self._ready is not None:
                self._ready.add(link.match)

    def _complete(self, match_id: int, winner: int, loser: int, outcome: Outcome,
                  scores: tuple[int, int] | None) -> None:
        state = self.states[match_id]
        state.status, state.outcome, state.scores = COMPLETED, outcome, scores
        state.winner, state.loser = winner, loser
        if self._ready is not None:
            self._ready.discard(match_id)
        self._touched.append(match_id)
        match = self.matches[match_id]
        if match.winner_to is not None:
            if self.matches[match.winner_to.match].reset_of == match_id and not (
                self._reset_needed(state)
            ):
                self.states[match.winner_to.match].status = SKIPPED
                self._touched.append(match.winner_to.match)
                return
            self._place(match.winner_to, winner)
        if match.loser_to is not None:
            self._place(match.loser_to, loser)

    def _reset_needed(self, first_final: MatchState) -> bool:
        winner, loser = first_final.winner, first_final.loser
        return (winner != BYE and winner == first_final.slots[1]
                and loser != BYE and loser not in self.disqualified)

    def _remove(self, entrant: int) -> None:
        # A rare staff action: one pass over the states is cheaper than keeping an index.
        for match_id, state in enumerate(self.states):
            if entrant not in state.slots:
                continue
            if state.status == READY:
                winner = self._opponent(state, entrant)
                self._complete(match_id, winner, entrant, DISQUALIFIED, None)
            elif state.status == WAITING:
                state.slots[state.slots.index(entrant)] = BYE
                self._touched.append(match_id)

    # -- corrections ----------------------------------------------------------------------

    def _reopen(self, match_id: int) -> None:
        self._undo_downstream(match_id)
        state = self.states[match_id]
        state.winner = state.loser = state.outcome = state.scores = None
        state.status = READY
        if self._ready is not None:
            self._ready.add(match_id)
        self._touched.append(match_id)

    def _undo_downstream(self, match_id: int) -> None:
        match = self.matches[match_id]
        for link in (match.winner_to, match.loser_to):
            if link is not None:
                self._unplace(link)

    def _unplace(self, link: Link) -> None:
        state = self.states[link.match]
        self._touched.append(link.match)
        if state.status == SKIPPED:
            state.status = LOCKED
            return
        if state.status == COMPLETED:
            self._undo_downstream(link.match)
            state.winner = state.loser = state.outcome = state.scores = None
        if self._ready is not None:
            self._ready.discard(link.match)
        state.slots[link.slot] = None
        # Keep "a disqualified entrant never sits in an open match" after the undo.
        state.slots = [BYE if e in self.disqualified else e for e in state.slots]
        a, b = state.slots
        state.status = LOCKED if a is None and b is None else WAITING


def _check_scores(state: MatchState, winner: int, scores: tuple[int, int]) -> None:
    if len(scores) != 2 or any(not isinstance(s, int) or s < 0 for s in scores):
        raise BracketError("scores are two whole numbers of games won")
    won = scores[0] if state.slots[0] == winner else scores[1]
    if won <= scores[0] + scores[1] - won:
        raise BracketError("the winner must have won more games")
