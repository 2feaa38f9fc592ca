"""The rows every match action appends — audit, timeline, outbox, notifications — as Core SQL.

These rows are written once and never read back in the same transaction, so they skip the
ORM's unit of work: one INSERT per table and action (several rows in one executemany), no
objects, and on the session's connection directly, so no autoflush either (the ORM's own
changes are written once, at the commit). This is the hot path of every report and
confirmation.

Inside `batch()` (a report, a confirmation) they wait for the end of the block and go
together, with a write that asks for one value back (`ask`: the bracket's play version): on
PostgreSQL in one round trip. A result holds the tournament's lock meanwhile, and under load
every round trip of it waits for the process's other requests, so one trip instead of five
is the lock held shorter (bench/results.py). SQLite runs them one by one, as before, at the
same point.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Insert, Table, TextClause, event, insert
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditLog, Match, MatchEvent, Notification, User, utcnow
from app.realtime import events

Entry = tuple[str, dict[str, Any]]  # a timeline entry: its kind and data
Event = events.Row  # an outbox event: type, tournament, payload
_SOON = "match_outbox_soon"  # session.info key: events waiting for `outbox`
_BATCH = "match_log_batch"  # session.info key: the open `batch`
# Built once, with their cache keys (they run on every action).
_AUDIT, _TIMELINE = insert(AuditLog.__table__), insert(MatchEvent.__table__)
_NOTIFICATIONS = insert(Notification.__table__)


def audit(row: dict[str, Any]) -> None:
    """One audit row (`services.audit.values`)."""
    _execute(_AUDIT, [{**row, "created_at": utcnow()}])


def timeline(actor: User | None, match: Match, entries: Iterable[Entry]) -> None:
    """Timeline entries of `match`, in this order."""
    now, actor_id = utcnow(), actor.id if actor else None
    rows = [{"match_id": match.id, "tournament_id": match.tournament_id, "actor_id": actor_id,
             "kind": kind, "data": data, "created_at": now} for kind, data in entries]
    if rows:
        _execute(_TIMELINE, rows)


def outbox_soon(rows: list[Event]) -> None:
    """Outbox events to write with the acting match's own (`outbox`), in the same statement;
    at the latest when the transaction commits."""
    db.session.info.setdefault(_SOON, []).extend(rows)


def outbox(rows: list[Event]) -> None:
    """Outbox events (type, tournament id, payload), published when the transaction commits.

    The same rows as `realtime.events.record` adds, in one statement (after those waiting
    from `outbox_soon`); its commit hook is told.
    """
    if found := events.values([*db.session.info.pop(_SOON, []), *rows]):
        _execute(events.INSERT, found)
        events.will_publish(db.session())


def notifications(user_ids: Iterable[int], tournament_id: int, match_id: int, text: str) -> None:
    now = utcnow()
    rows = [{"user_id": u, "tournament_id": tournament_id, "match_id": match_id,
             "text": text[:300], "created_at": now} for u in sorted(set(user_ids))]
    if rows:
        _execute(_NOTIFICATIONS, rows)


def ask(statement: TextClause, params: dict[str, Any], answer: Callable[[Any], None]) -> None:
    """Run `statement` (one that returns one value, or no row) with the batch, or now without
    one; `answer` gets the value (None: no row)."""
    waiting = db.session.info.get(_BATCH)
    if waiting is None:
        answer(db.session.connection().execute(statement, params).scalar())
    else:
        waiting.asks.append((statement, params, answer))


@contextmanager
def batch() -> Iterator[None]:
    """Hold back this module's writes (and `ask`s) until the block ends, then send them
    together; an exception drops them (the action that made them did not happen)."""
    session = db.session()
    if _BATCH in session.info:  # inside another: that one sends them
        yield
        return
    waiting = session.info[_BATCH] = _Batch()
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    waiting.send(session.connection())


class _Batch:
    """Writes held back by `batch`. On PostgreSQL they are sent as one string of statements
    (psycopg2 binds parameters in the client, so one round trip runs them all, and the last
    one's rows come back): the INSERTs, then the first ask; built by hand from each table's
    bind processors, since SQLAlchemy building and compiling a new statement each time cost
    more than the round trips it saved (bench/results_inprocess.py)."""

    def __init__(self) -> None:
        self.rows: dict[Insert, list[dict[str, Any]]] = {}  # by the INSERT built once
        self.asks: list[tuple[TextClause, dict[str, Any], Callable[[Any], None]]] = []

    def add(self, statement: Insert, rows: list[dict[str, Any]]) -> None:
        self.rows.setdefault(statement, []).extend(rows)

    def send(self, connection: Connection) -> None:
        asks = self.asks
        if connection.dialect.name == "postgresql" and (self.rows or asks):
            cursor = connection.connection.dbapi_connection.cursor()
            parts = [_insert_sql(cursor, connection.dialect, statement.table, rows)
                     for statement, rows in self.rows.items()]
            if asks:
                statement, params, answer = asks[0]
                parts.append(cursor.mogrify(_pyformat(statement, connection.dialect), params))
            # Bound already: no parameters, so psycopg2 leaves a "%" in the text alone.
            result = connection.exec_driver_sql(b"; ".join(parts).decode(),
                                                execution_options={"no_parameters": True})
            if asks:
                found = result.first()
                answer(found[0] if found else None)
                asks = asks[1:]
        else:
            for statement, rows in self.rows.items():
                connection.execute(statement, rows)
        for statement, params, answer in asks:
            answer(connection.execute(statement, params).scalar())


def _insert_sql(cursor: Any, dialect: Any, table: Table, rows: list[dict[str, Any]]) -> bytes:
    names = tuple(rows[0])
    head, processors = _insert_head(table, names, dialect)
    template = "(" + ", ".join(["%s"] * len(names)) + ")"
    return head + b", ".join(cursor.mogrify(template, [
        process(row[name]) if process else row[name]
        for name, process in zip(names, processors, strict=True)]) for row in rows)


@functools.cache
def _insert_head(table: Table, names: tuple[str, ...], dialect: Any) -> tuple[bytes, list]:
    """`INSERT INTO table (names) VALUES `, and each column's bind processor (JSON's, say)."""
    quote = dialect.identifier_preparer.quote
    head = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in names)}) VALUES ")
    return head.encode(), [table.c[name].type.bind_processor(dialect) for name in names]


@functools.cache
def _pyformat(statement: TextClause, dialect: Any) -> str:
    return str(statement.compile(dialect=dialect))


def _execute(statement: Insert, rows: list[dict[str, Any]]) -> None:
    waiting = db.session.info.get(_BATCH)
    if waiting is None:
        db.session.connection().execute(statement, rows)
    else:
        waiting.add(statement, rows)


@event.listens_for(Session, "before_commit")
def _write_waiting(session: Session) -> None:
    if session.info.get(_SOON):  # an action that moved the bracket without its own event
        with session.no_autoflush:
            events.record_rows(session, session.info.pop(_SOON))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    # Also a savepoint's: what waits was added by the part rolled back (`outbox` empties it).
    session.info.pop(_SOON, None)
