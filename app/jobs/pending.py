"""Jobs waiting for the transaction that caused them to commit.

A service enqueues inside the caller's transaction; a worker that picked the
job up before the commit would not find the rows it is about to act on, and
a job from a rolled-back request would act on something that never happened.
So a job enqueued inside a transaction is parked on the session and pushed
right after that session commits, or dropped if it rolls back.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.job import Job

log = logging.getLogger(__name__)
_KEY = "jobs_pending"


class Backend(Protocol):
    def push(self, job: Job) -> None: ...


def submit(backend: Backend, job: Job) -> None:
    """Push `job` now, or after the current transaction commits if one is open."""
    session = db.session()
    if session.in_transaction():
        session.info.setdefault(_KEY, []).append((backend, job))
    else:
        backend.push(job)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for backend, job in session.info.pop(_KEY, ()):
        try:
            backend.push(job)
        except Exception:
            # The change is committed; failing the request now would only hide that.
            # A lost trigger is what the periodic sweeper exists for.
            log.exception("could not enqueue %s after commit", job.name)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
