"""The outbox and its feed: events exist exactly when their change does, none is skipped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from app.extensions import db
from app.models import OutboxEvent, Status, utcnow
from app.realtime import events
from app.realtime.feed import LATE_COMMIT_SECONDS, Feed, current_sequence, missed


def add(*ids: int, tournament_id: int = 1, **fields) -> None:
    """Commit outbox rows with chosen ids, as if their transactions committed in this order."""
    for i in ids:
        db.session.add(OutboxEvent(id=i, type="tournament_updated", tournament_id=tournament_id,
                                   payload={}, **fields))
    db.session.commit()


def read_ids(feed: Feed) -> list[int]:
    events_, _more = feed.read(db.session)
    db.session.rollback()
    return [e.id for e in events_]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_event_is_committed_with_its_change(db_session, tournament):
    tournament.status = Status.CHECK_IN
    events.record("tournament_updated", tournament_id=tournament.id, status="CHECK_IN")
    db.session.commit()
    row = db.session.scalar(select(OutboxEvent))
    assert (row.type, row.tournament_id, row.payload) == (
        "tournament_updated", tournament.id, {"status": "CHECK_IN"})
    assert current_sequence(db.session) == row.id


def test_rolled_back_change_takes_its_event_with_it(db_session, tournament):
    events.record("tournament_updated", tournament_id=tournament.id)
    db.session.rollback()
    assert db.session.scalar(select(OutboxEvent)) is None
    assert current_sequence(db.session) == 0


def test_feed_starts_after_the_newest_event(db_session):
    add(1, 2)
    feed = Feed.at_end(db.session)
    assert read_ids(feed) == []
    add(3, 4)
    assert read_ids(feed) == [3, 4]
    assert read_ids(feed) == []


def test_id_that_commits_after_a_higher_one_is_still_delivered(db_session):
    feed = Feed.at_end(db.session)
    add(1, 3)  # the transaction holding id 2 has not committed yet
    assert read_ids(feed) == [1, 3]
    add(2)
    assert read_ids(feed) == [2]
    assert read_ids(feed) == []


def test_id_that_never_commits_is_given_up_after_the_late_commit_window(db_session):
    clock = FakeClock()
    feed = Feed.at_end(db.session, clock=clock)
    add(1, 3)
    read_ids(feed)
    assert set(feed.missing) == {2}
    clock.now += LATE_COMMIT_SECONDS + 1
    assert read_ids(feed) == []
    assert feed.missing == {}


def test_feed_reads_a_reset_outbox_from_its_start(db_session):
    add(1, 2, 3, created_at=utcnow() - timedelta(minutes=5))
    feed = Feed.at_end(db.session)
    db.session.execute(delete(OutboxEvent))
    db.session.commit()
    add(1, 2)  # ids start again (TRUNCATE ... RESTART IDENTITY, a restored backup)
    assert read_ids(feed) == [1, 2]


def test_feed_does_not_deliver_again_what_a_restored_backup_brings_back(db_session):
    add(1, 2, created_at=utcnow() - timedelta(minutes=5))
    add(3)
    feed = Feed.at_end(db.session)
    db.session.execute(delete(OutboxEvent).where(OutboxEvent.id == 3))
    db.session.commit()
    add(3)  # a new event reuses the id the restore lost
    assert read_ids(feed) == [3]


def test_missed_covers_newer_events_and_recent_ones_that_may_have_committed_late(db_session):
    old = utcnow() - timedelta(minutes=5)
    add(1, 2, created_at=old)
    add(3, 4)
    add(5, tournament_id=2)
    assert [e.id for e in missed(db.session, [1], since=2)] == [3, 4]
    assert [e.id for e in missed(db.session, [1], since=4)] == [3, 4]  # recent: may be late
    assert [e.id for e in missed(db.session, [1], since=0)] == [1, 2, 3, 4]
