"""The periodic sweeper: applies whatever the schedule says is due.

Deadlines (registration closing, check-in opening, results to auto-confirm)
may have a job enqueued for them, but a job can be lost; the sweeper runs
every SWEEP_SECONDS and does whatever is overdue, so the database, not the
queue, decides what happens. With Redis the worker enqueues it (worker/);
without, each web process runs it in its in-process runner. Running it in
several places at once is safe: every transition re-checks the database.
"""

from __future__ import annotations

import logging

from flask import Flask

from app.database import write_intent
from app.extensions import db
from app.jobs.queue import backend_for
from app.jobs.runner import Runner
from app.models import utcnow
from app.services import schedule

log = logging.getLogger(__name__)


def sweep() -> int:
    """Apply every schedule transition due now and commit; return how many were applied."""
    with write_intent():
        applied = schedule.sweep(utcnow())
        db.session.commit()
    log.log(logging.INFO if applied else logging.DEBUG, "sweep applied %d transitions", applied)
    return applied


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
