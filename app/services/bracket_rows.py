"""A saved bracket as engine objects and back: structure and states from its match rows.

The structure (sources and links of every match) never changes once a bracket is saved,
except that a Swiss grows by a round; every such change bumps the bracket's version. So
this process keeps the structure of recent brackets by id and version, and a result reads
only the state columns of the stage's rows: about a tenth of loading every row as an
object (bench/results.py). Swiss structures are rebuilt each time: pairing a round appends
to the structure it is given, and a cached one must never change.

A result also keeps the play it changed (`play_to_change`): every transaction that writes
engine states bumps the bracket's `play_version` once and stamps the rows it wrote with the
new version, and once it commits, this process keeps that play with that version. The next
result of the bracket takes it back if the version in the bracket row is still that one
(read with the match, under the tournament lock); if other processes wrote since, it reads
just the rows stamped after its version and catches up. Either is instead of reading and
mapping the state columns of every match: the largest part of a confirmation's CPU before
(bench/results.py). A kept play is handed to one transaction at a time (taken out of the
cache, put back at its commit), and forgotten by a rollback, so nobody sees a change that
did not commit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, insert, select, text
from sqlalchemy.orm import Session

from app.brackets.model import Bracket as Structure
from app.brackets.model import Format as EngineFormat
from app.brackets.model import GrandFinal, Link, Side, Source
from app.brackets.model import Match as EngineMatch
from app.brackets.play import MatchState as EngineState
from app.brackets.play import Outcome, Play
from app.brackets.play import Status as EngineStatus
from app.extensions import db
from app.models import Bracket, Match, MatchState, MatchStatus, utcnow
from app.services import match_log

CACHED_STRUCTURES = 64
# A new match's state from the engine's status: a bye is decided at once.
INITIAL_STATE = {
    EngineStatus.LOCKED: MatchState.PENDING, EngineStatus.WAITING: MatchState.PENDING,
    EngineStatus.READY: MatchState.SCHEDULED, EngineStatus.COMPLETED: MatchState.COMPLETED,
    EngineStatus.SKIPPED: MatchState.CANCELLED,
}
_STRUCTURE_COLUMNS = (Match.number, Match.side, Match.round, Match.position, Match.best_of,
                      Match.source_a, Match.source_b, Match.winner_to, Match.winner_to_slot,
                      Match.loser_to, Match.loser_to_slot, Match.group, Match.reset_of)
# A result reads the state columns of every row of its stage (500 for 256 entrants), as
# plain DB-API tuples: the status as its stored text (the engine's value, mapped by dict),
# with none of the result processing that cost as much as the query itself.
_STATE_QUERY = (select(Match.seed_a, Match.seed_b, Match.status, Match.winner_seed,
                       Match.loser_seed, Match.outcome, Match.score_a, Match.score_b)
                .where(Match.bracket_id == bindparam("bracket_id")).order_by(Match.number))
_COMPILED: dict[tuple, Any] = {}  # (query, dialect name) → the query compiled
_ROWS = select(Match).where(Match.bracket_id == bindparam("bracket_id"),
                            Match.number.in_(bindparam("numbers", expanding=True)))
_STATUSES = {status.value: status for status in EngineStatus}
_OUTCOMES = {outcome.value: outcome for outcome in Outcome}
_structures: OrderedDict[tuple, Structure] = OrderedDict()
_lock = threading.Lock()
CACHED_PLAYS = 64
CATCH_UP_ROWS = 64  # a kept play behind by more changed rows than this is read again whole
# (bracket id, created at) → (bracket version, play version, play): plays at rest.
_plays: OrderedDict[tuple, tuple[int, int, Play]] = OrderedDict()
_CHANGING = "bracket_plays_changing"  # session.info: the plays this transaction holds
_CURRENT = "bracket_plays_current"  # session.info: brackets read under the lock (`read_current`)
_PLAY_VERSION = text("SELECT play_version FROM brackets WHERE id = :id")
# The state columns of the rows written since a kept play's version (another process's).
_NEWER_STATES = (select(Match.number, *_STATE_QUERY.selected_columns)
                 .where(Match.bracket_id == bindparam("bracket_id"),
                        Match.play_version > bindparam("kept")))
_BUMP = text("UPDATE brackets SET play_version = play_version + 1 WHERE id = :id "
             "AND play_version = :seen RETURNING play_version")
_BUMP_ANYWAY = text("UPDATE brackets SET play_version = play_version + 1 WHERE id = :id")


def load_play(bracket: Bracket) -> tuple[Structure, Play]:
    """The engine structure of a saved bracket and its play as the rows say now."""
    structure = structure_of(bracket)
    states = [_engine_state(*row) for row in _state_rows(bracket.id)]
    return structure, Play(structure, states, (bracket.settings or {}).get("disqualified", []))


def _engine_state(a: int | None, b: int | None, status: str, winner: int | None,
                  loser: int | None, outcome: str | None, score_a: int | None,
                  score_b: int | None) -> EngineState:
    """An engine state from a row's state columns as the driver gives them (plain text)."""
    return EngineState([a, b], _STATUSES[status], winner, loser,
                       _OUTCOMES[outcome] if outcome else None,
                       (score_a, score_b) if score_a is not None else None)


def play_to_change(bracket: Bracket) -> Play:
    """The play of `bracket` as committed now, for this transaction to change (`changed`).

    Call it with the tournament lock held (every writer of engine states holds it), so the
    version read is the newest: the kept play when it is that version, brought up to it when
    another process wrote since (the rows newer than it), else one built from the rows. The
    same transaction gets the same play back.
    """
    session, key = db.session(), _play_key(bracket)
    changing = session.info.setdefault(_CHANGING, {})
    if key in changing:
        return changing[key].play
    if bracket.id in session.info.get(_CURRENT, ()):
        seen = bracket.play_version
    else:
        seen = session.connection().execute(_PLAY_VERSION, {"id": bracket.id}).scalar_one()
    with _lock:
        kept = _plays.pop(key, None)
    play = None
    if kept is not None and kept[0] == bracket.version:
        play = kept[2] if kept[1] == seen else _caught_up(bracket, kept[2], kept[1], seen)
    # Swiss is never kept: its structure grows (see the module doc).
    version = bracket.version if bracket.format != EngineFormat.SWISS else None
    changing[key] = _Held(version, seen, play or load_play(bracket)[1])
    return changing[key].play


@dataclass(slots=True)
class _Held:
    """A play in this transaction's hands, and the versions it was read at and writes."""

    version: int | None  # the bracket's version (None: keep nothing at the commit)
    seen: int  # the play version it was read at
    play: Play
    bumped: bool = False

    @property
    def stamp(self) -> int:
        """The play version this transaction's writes get (one bump per transaction)."""
        return self.seen + 1


def _caught_up(bracket: Bracket, play: Play, kept: int, seen: int) -> Play | None:
    """`play` (at play version `kept`) brought up to `seen` with the rows written since;
    None when there are more than `CATCH_UP_ROWS` (reading them all is as quick)."""
    if kept > seen:  # a version this process saw went away (a restored database, say)
        return None
    rows = _driver_rows(_NEWER_STATES, {"bracket_id": bracket.id, "kept": kept})
    if len(rows) > CATCH_UP_ROWS:
        return None
    play.resume({row[0]: _engine_state(*row[1:]) for row in rows},
                (bracket.settings or {}).get("disqualified", []))
    return play


def read_current(bracket: Bracket) -> None:
    """`bracket` was read in this transaction with the tournament's lock held (or SQLite's
    write lock): its `play_version` is the newest, `play_to_change` need not read it again."""
    db.session.info.setdefault(_CURRENT, set()).add(bracket.id)


def changed(bracket: Bracket) -> None:
    """This transaction wrote engine states of `bracket` from its `play_to_change`: the
    version moves on, once per transaction (with the action's other writes, in a batch)."""
    held: _Held = db.session.info[_CHANGING][_play_key(bracket)]
    if held.bumped:
        return
    held.bumped = True

    def answer(version: int | None) -> None:
        if version != held.stamp:  # written without the lock meanwhile (never, by the rules
            # above): count this write anyway, keep nothing
            db.session.connection().execute(_BUMP_ANYWAY, {"id": bracket.id})
            held.version = None

    match_log.ask(_BUMP, {"id": bracket.id, "seen": held.seen}, answer)


def forget_play(bracket: Bracket) -> None:
    """The play this transaction holds was changed by something that did not complete."""
    db.session.info.get(_CHANGING, {}).pop(_play_key(bracket), None)


def _play_key(bracket: Bracket) -> tuple:
    return bracket.id, bracket.created_at


# First of the commit hooks (`insert`): the next result of this bracket may be waiting on
# the tournament lock this commit just released, and the hooks after this one do I/O (jobs,
# publishing), where that request's greenlet would run and find no kept play.
@event.listens_for(Session, "after_commit", insert=True)
def _keep_plays(session: Session) -> None:
    changing: dict[tuple, _Held] = session.info.get(_CHANGING) or {}
    _drop(session)
    with _lock:
        for key, held in changing.items():
            if held.version is not None:
                _plays[key] = (held.version, held.stamp if held.bumped else held.seen,
                               held.play)
                _plays.move_to_end(key)
        while len(_plays) > CACHED_PLAYS:
            _plays.popitem(last=False)


# A savepoint's rollback too: its part may have changed a play the rest of the transaction
# holds.
@event.listens_for(Session, "after_soft_rollback")
def _drop_plays(session: Session, _previous: Any) -> None:
    _drop(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_unkept_plays(session: Session, transaction: Any) -> None:
    # The whole transaction ended without `_keep_plays` (which runs first at a commit), by
    # `close` too, which does not roll back through the hook above.
    if transaction.parent is None:
        _drop(session)


def _drop(session: Session) -> None:
    """What this transaction held and knew of its brackets: none of it outlives it."""
    session.info.pop(_CHANGING, None)
    session.info.pop(_CURRENT, None)


def _state_rows(bracket_id: int) -> list[tuple]:
    return _driver_rows(_STATE_QUERY, {"bracket_id": bracket_id})


def _driver_rows(query: Any, params: dict[str, Any]) -> list[tuple]:
    """Rows of `query` as the DB-API driver gives them (no result processing)."""
    connection = db.session.connection()
    dialect = connection.dialect
    compiled = _COMPILED.get((query, dialect.name))
    if compiled is None:
        compiled = _COMPILED[query, dialect.name] = query.compile(dialect=dialect)
    if dialect.paramstyle in ("named", "pyformat"):
        return connection.exec_driver_sql(str(compiled), params).all()
    return connection.exec_driver_sql(
        str(compiled), tuple(params[name] for name in compiled.positiontup)).all()


def load(bracket: Bracket) -> tuple[Structure, Play, list[Match]]:
    """`load_play`, with every row of the bracket as an object too, in number order."""
    structure, play = load_play(bracket)
    rows = list(db.session.scalars(select(Match).where(Match.bracket_id == bracket.id)
                                   .order_by(Match.number)))
    return structure, play, rows


def structure_of(bracket: Bracket) -> Structure:
    """The engine structure of `bracket` (cached by id and version, Swiss aside).

    The key holds the creation time too: a deleted bracket's id can come back (SQLite reuses
    the largest rowid; a test database restarts its sequences) with version 1 again.
    """
    key = (bracket.id, bracket.version, bracket.created_at)
    if bracket.format != EngineFormat.SWISS:
        with _lock:
            if (found := _structures.get(key)) is not None:
                _structures.move_to_end(key)
                return found
    rows = db.session.execute(select(*_STRUCTURE_COLUMNS).where(Match.bracket_id == bracket.id)
                              .order_by(Match.number)).all()
    settings = bracket.settings or {}
    structure = Structure(
        EngineFormat(bracket.format), bracket.entrants, [_engine_match(*r) for r in rows],
        grand_final=GrandFinal(settings.get("grand_final", "none"))
        if bracket.format == EngineFormat.DOUBLE_ELIMINATION else GrandFinal.NONE,
        third_place=any(r.side == Side.THIRD_PLACE for r in rows),
        groups=settings.get("groups", 1), cycles=settings.get("cycles", 1),
        rounds_planned=settings.get("rounds_planned") or settings.get("rounds") or 0)
    if bracket.format != EngineFormat.SWISS:
        with _lock:
            _structures[key] = structure
            while len(_structures) > CACHED_STRUCTURES:
                _structures.popitem(last=False)
    return structure


def write_states(bracket: Bracket, play: Play, numbers: Sequence[int]) -> dict[int, Match]:
    """Write the engine states of matches `numbers` of this transaction's `play_to_change`
    back to their rows (the ones it changed), stamped with the play version `changed` gives
    the bracket; return those rows by number."""
    if not numbers:
        return {}
    stamp = db.session.info[_CHANGING][_play_key(bracket)].stamp  # (see `changed`)
    rows = {r.number: r for r in db.session.scalars(
        _ROWS, {"bracket_id": bracket.id, "numbers": list(numbers)})}
    for number in numbers:
        row = rows[number]
        for column, value in state_columns(play.states[number]).items():
            setattr(row, column, value)
        row.play_version = stamp
    return rows


def insert_matches(bracket: Bracket, matches: Sequence[EngineMatch],
                   states: Sequence[EngineState]) -> None:
    """Bulk-insert engine matches (with their current states) as rows of `bracket`."""
    now = utcnow()
    db.session.execute(insert(Match.__table__), [
        {"bracket_id": bracket.id, "tournament_id": bracket.tournament_id, "number": m.id,
         "side": m.side.value, "round": m.round, "position": m.position, "group": m.group,
         "best_of": m.best_of, "source_a": _source(m.slots[0]), "source_b": _source(m.slots[1]),
         "winner_to": m.winner_to.match if m.winner_to else None,
         "winner_to_slot": m.winner_to.slot if m.winner_to else None,
         "loser_to": m.loser_to.match if m.loser_to else None,
         "loser_to_slot": m.loser_to.slot if m.loser_to else None,
         "reset_of": m.reset_of, "updated_at": now, "version": 1,
         "state": INITIAL_STATE[s.status], "completed_at": now if s.status == "completed" else None,
         **state_columns(s)}
        for m, s in zip(matches, states, strict=True)])


def state_columns(state: EngineState) -> dict[str, Any]:
    """The columns of a match row that hold its engine state."""
    scores = state.scores or (None, None)
    return {"seed_a": state.slots[0], "seed_b": state.slots[1],
            "status": MatchStatus(state.status.value), "winner_seed": state.winner,
            "loser_seed": state.loser, "outcome": state.outcome.value if state.outcome else None,
            "score_a": scores[0], "score_b": scores[1]}


def _engine_match(number: int, side: str, round_: int, position: int, best_of: int,
                  source_a: str, source_b: str, winner_to: int | None,
                  winner_to_slot: int | None, loser_to: int | None, loser_to_slot: int | None,
                  group: int | None, reset_of: int | None) -> EngineMatch:
    return EngineMatch(
        number, Side(side), round_, position, best_of,
        (_parse_source(source_a), _parse_source(source_b)),
        Link(winner_to, winner_to_slot) if winner_to is not None else None,
        Link(loser_to, loser_to_slot) if loser_to is not None else None,
        group, reset_of)


def _source(source: Source) -> str:
    return source.kind if source.kind == "bye" else f"{source.kind}:{source.ref}"


def _parse_source(text: str) -> Source:
    kind, _, ref = text.partition(":")
    return Source(kind, int(ref) if ref else 0)
