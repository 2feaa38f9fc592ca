"""A hung Redis must not hold a request that enqueues a job after its commit."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.jobs.queue import PRODUCER_TIMEOUT, RQBackend
from app.models import AuditLog, utcnow
from app.services import audit
from tests.integration import sample_jobs
from tests.web.test_realtime_redis import RedisServer

SLACK = 1.5  # seconds a busy machine may add


def test_a_commit_whose_job_cannot_reach_a_hung_redis_returns_at_once_and_keeps_its_change(
        app, monkeypatch):
    redis = RedisServer()
    redis.start()
    try:
        backend = RQBackend(redis.url)
        backend.queue.connection.ping()  # connected before it hangs, as a running server is
        redis.freeze()
        monkeypatch.setattr(jobs, "backend_for", lambda _app: backend)
        started = time.monotonic()
        audit.record(None, "test.change")
        jobs.enqueue_at(utcnow() + timedelta(hours=1), sample_jobs.record_audit, "job.later")
        db.session.commit()  # the job is pushed now, and cannot be
        elapsed = time.monotonic() - started
        assert elapsed < 2 * PRODUCER_TIMEOUT + SLACK, f"the commit took {elapsed:.1f} s"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "test.change"))
    finally:
        redis.thaw()
        redis.stop()
