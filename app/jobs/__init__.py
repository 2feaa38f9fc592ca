"""The jobs facade: `enqueue(fn, ...)` and `enqueue_at(when, fn, ...)`.

Work that is slow or due later runs outside the request. Where it runs is
configuration (`JOBS_BACKEND`): with `REDIS_URL` set, jobs go to the RQ queue
"default" and `python -m worker` runs them (RQ's scheduler releases
`enqueue_at` jobs when due); without Redis, a background thread in the same
process runs them (`app.jobs.runner`). Callers do not know which.

The rules every job follows:

- A job is a **module-level function** taking **plain arguments** (ids,
  strings, numbers, lists, dicts: whatever survives JSON), never model
  instances: the worker imports the function by name and loads its arguments
  from JSON. Both are checked when the job is enqueued, on either backend.
- A job runs **inside an app context**, as a database writer (`write_intent`,
  so SQLite takes its write lock up front). It commits its own work.
- A job is **idempotent and re-checks the database** before acting: the
  database is the truth, the queue only a trigger. A job may run twice (a
  worker died after the work but before RQ noted it), late, or never (Redis
  lost it); the periodic sweeper (`app.jobs.sweeper`) finds work whose
  deadline passed and does it anyway.
- A job is **enqueued only after the transaction that caused it commits**.
  `enqueue` called while the session is inside a transaction (as it is in a
  service, which never commits) holds the job until that transaction
  commits, and drops it if it rolls back (`app.jobs.pending`). So a worker
  never looks for a row that is not committed yet, and a failed request
  leaves no job behind. Outside a transaction the job is pushed at once.
  The caller must commit, as views, CLI commands and jobs do anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app

from app.jobs import pending
from app.jobs.job import Job
from app.jobs.queue import backend_for

__all__ = ["enqueue", "enqueue_at"]


def enqueue(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run `fn(*args, **kwargs)` in the background, once the current transaction commits."""
    pending.submit(backend_for(current_app), Job.build(fn, args, kwargs))


def enqueue_at(when: datetime, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run `fn(*args, **kwargs)` at `when` (aware datetime), once the transaction commits."""
    pending.submit(backend_for(current_app), Job.build(fn, args, kwargs, due=when))
