"""The rows a match action appends, written together at the end of a batch."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from app.extensions import db
from app.models import AuditLog, Match, MatchEvent, Notification, OutboxEvent
from app.services import match_log
from tests.integration.test_matches import row, start_bracket


@pytest.fixture
def match(make_tournament, make_field, organizer):
    cup = make_tournament("log-cup", capacity=8)
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    return row(bracket, 0)


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


# What a player can type ends up in these rows: quotes, percent signs, backslashes, unicode.
AWKWARD = "50% of O'Brien's \\\\ \"team\" ; -- 名前 %(x)s %s"


def write_everything(match: Match, organizer) -> None:
    match_log.audit({"actor_id": organizer.id, "action": "match.noted", "object_type": "match",
                     "object_id": match.id, "tournament_id": match.tournament_id,
                     "meta": {"note": AWKWARD, "nested": [1, {"b": None}]}, "ip": None})
    match_log.timeline(organizer, match, [("noted", {"text": AWKWARD}), ("again", {})])
    match_log.outbox([("match_updated", match.tournament_id, {"match_id": match.id,
                                                               "text": AWKWARD})])
    match_log.notifications([organizer.id], match.tournament_id, match.id, AWKWARD)


def test_a_batch_writes_every_row_as_given_when_it_ends(match, organizer, statements):
    with match_log.batch():
        write_everything(match, organizer)
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        sent = len(statements)
    assert len(statements) - sent == (1 if db.engine.dialect.name == "postgresql" else 4)
    db.session.commit()
    assert db.session.scalar(select(AuditLog.meta).where(AuditLog.action == "match.noted")) \
        == {"note": AWKWARD, "nested": [1, {"b": None}]}
    assert list(db.session.execute(select(MatchEvent.kind, MatchEvent.data).where(
        MatchEvent.kind.in_(["noted", "again"])).order_by(MatchEvent.id))) \
        == [("noted", {"text": AWKWARD}), ("again", {})]
    assert db.session.scalar(select(OutboxEvent.payload).order_by(OutboxEvent.id.desc())) \
        == {"match_id": match.id, "text": AWKWARD}
    assert db.session.scalar(select(Notification.text)) == AWKWARD


def test_a_batch_that_raises_writes_nothing(match, organizer):
    with pytest.raises(RuntimeError), match_log.batch():
        write_everything(match, organizer)
        raise RuntimeError("refused")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "match.noted")) == 0


BUMP = text("UPDATE matches SET version = version + 1 WHERE id = :id AND version = :seen "
            "RETURNING version")


def test_an_ask_in_a_batch_is_answered_when_it_ends_with_the_rows(match, organizer):
    answers = []
    with match_log.batch():
        write_everything(match, organizer)
        match_log.ask(BUMP, {"id": match.id, "seen": match.version}, answers.append)
        match_log.ask(BUMP, {"id": match.id, "seen": 999}, answers.append)  # no such row
        assert answers == []
    assert answers == [match.version + 1, None]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_writes_outside_a_batch_go_at_once(match, organizer):
    write_everything(match, organizer)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
