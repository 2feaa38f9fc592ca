"""Outbox retention: the sweeper prunes old events; a gap it pruned is not replayed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEvent, utcnow
from app.realtime import feed
from app.realtime.feed import REPLAY_LIMIT, missed, prune, replayable
from tests.integration.test_outbox import add

DAY = 86400.0


def kept() -> list[int]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))


def test_events_older_than_the_retention_are_pruned_but_never_the_newest(db_session):
    old = utcnow() - timedelta(days=3)
    add(1, 2, 3, created_at=old)
    add(4, 5)
    assert prune(db.session, utcnow(), DAY, 0) == 3
    db.session.commit()
    assert kept() == [4, 5]
    add(6, created_at=old)  # even an old newest event stays: it tells pruned from reset
    prune(db.session, utcnow() + timedelta(days=9), DAY, 0)
    db.session.commit()
    assert kept() == [6]


def test_retention_by_count_keeps_the_newest_and_anything_from_the_last_minute(db_session):
    old = utcnow() - timedelta(minutes=5)
    add(*range(1, 1501), created_at=old)
    add(*range(1501, 1601))  # recent: never pruned by count
    assert prune(db.session, utcnow(), DAY, 1000) == 600
    db.session.commit()
    assert kept() == list(range(601, 1601))


def test_a_gap_reaching_past_what_is_kept_or_beyond_the_newest_is_not_replayable(db_session):
    add(10, 11, 12)
    assert replayable(db.session, 9) and replayable(db.session, 12)
    assert missed(db.session, [1], 9) is not None
    assert not replayable(db.session, 8)  # event 9 may have been pruned
    assert not replayable(db.session, 13)  # the client's numbers come from another outbox
    assert missed(db.session, [1], 3) is None and missed(db.session, [1], 40) is None


def test_an_empty_outbox_replays_to_a_new_page_only(db_session):
    assert replayable(db.session, 0)
    assert not replayable(db.session, 7)


def test_a_gap_bigger_than_the_replay_limit_gets_a_snapshot_instead(db_session):
    add(*range(1, REPLAY_LIMIT + 3), created_at=utcnow() - timedelta(minutes=1))
    assert len(missed(db.session, [1], 2)) == REPLAY_LIMIT
    assert missed(db.session, [1], 1) is None


def test_the_sweeper_prunes_to_the_configured_retention(app, db_session, monkeypatch):
    from app.jobs import sweeper

    add(1, 2, created_at=utcnow() - timedelta(hours=3))
    add(3)
    monkeypatch.setitem(app.config, "OUTBOX_RETENTION_SECONDS", 3600)
    sweeper.sweep()
    assert kept() == [3]
    assert feed.MIN_RETENTION_SECONDS <= 3600
