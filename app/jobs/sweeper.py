"""The periodic sweeper: applies whatever the schedule says is due.

Deadlines (registration closing, check-in opening, results to auto-confirm)
may have a job enqueued for them, but a job can be lost; the sweeper runs
every SWEEP_SECONDS and does whatever is overdue, so the database, not the
queue, decides what happens. With Redis the worker enqueues it (worker/);
without, each web process runs it in its in-process runner. Running it in
several places at once is safe: every transition re-checks the database.
It also prunes the realtime outbox to its retention (``OUTBOX_RETENTION_*``).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from app.database import write_intent
from app.extensions import db
from app.jobs.queue import backend_for
from app.jobs.runner import Runner
from app.models import utcnow
from app.realtime import feed
from app.services import schedule

log = logging.getLogger(__name__)


def sweep() -> int:
    """Apply every schedule transition due now and commit; return how many were applied."""
    with write_intent():
        applied = schedule.sweep(utcnow())
        db.session.commit()
    log.log(logging.INFO if applied else logging.DEBUG, "sweep applied %d transitions", applied)
    prune_outbox()
    return applied


def prune_outbox() -> int:
    """Delete outbox events past their retention, in a transaction of their own."""
    config = current_app.config
    try:
        with write_intent():
            pruned = feed.prune(db.session, utcnow(),
                                config["OUTBOX_RETENTION_SECONDS"],
                                config["OUTBOX_RETENTION_EVENTS"])
            db.session.commit()
    except Exception:  # pruning is housekeeping: it must never fail the sweep
        db.session.rollback()
        log.exception("could not prune the outbox")
        return 0
    log.log(logging.INFO if pruned else logging.DEBUG, "pruned %d outbox events", pruned)
    return pruned


def start_in_process(app: Flask) -> Runner | None:
    """Without Redis: start this process's job runner with the periodic sweeper in it."""
    if not isinstance(app, Flask) or app.config.get("JOBS_BACKEND") != "inprocess":
        return None
    runner = backend_for(app)
    assert isinstance(runner, Runner)
    if (seconds := float(app.config.get("SWEEP_SECONDS", 30))) > 0:
        runner.every(seconds, sweep)
    runner.start()
    return runner
