"""Where jobs go: the RQ queue (with Redis) or this process's runner (without)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from flask import Flask
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from app.jobs.job import Job
from app.jobs.pending import Backend
from app.jobs.runner import Runner
from app.models import utcnow

QUEUE_NAME = "default"
# A request pushes its jobs after its commit: a hung Redis must not hold it (redis-py waits
# without limit by default; a lost trigger is what the sweeper is for).
PRODUCER_TIMEOUT = 1.0
_EXTENSION = "bracketeer.jobs"
_lock = threading.Lock()


def make_queue(connection: Redis) -> Queue:
    """The queue every producer and worker agrees on (JSON, not pickle: plain arguments only)."""
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


class RQBackend:
    """Jobs go to Redis; `python -m worker` runs them, its scheduler releases timed ones."""

    def __init__(self, redis_url: str) -> None:
        self.queue = make_queue(Redis.from_url(redis_url, socket_timeout=PRODUCER_TIMEOUT,
                                               socket_connect_timeout=PRODUCER_TIMEOUT))

    def push(self, job: Job) -> None:
        """Put `job` on the queue, or in the scheduled registry if it is due later."""
        if job.due is None or job.due <= utcnow():
            self.queue.enqueue_call(job.fn, args=job.args, kwargs=job.kwargs)
            return
        rq_job = self.queue.create_job(job.fn, args=job.args, kwargs=job.kwargs,
                                       status=JobStatus.SCHEDULED)
        self.queue.schedule_job(rq_job, _next_whole_second(job.due))


def _next_whole_second(when: datetime) -> datetime:
    """RQ keeps due times in whole seconds (truncated): round up so a job never runs early."""
    whole = when.replace(microsecond=0)
    return whole if whole == when else whole + timedelta(seconds=1)


def backend_for(app: Flask) -> Backend:
    """The backend `app` is configured for (JOBS_BACKEND), made once per app and kind."""
    # The runner keeps the app for its thread: never the `current_app` proxy, which is
    # unbound there (every job would fail with "working outside of application context").
    app = getattr(app, "_get_current_object", lambda: app)()
    kind = app.config.get("JOBS_BACKEND", "inprocess")
    with _lock:  # two first requests at once must not start two runners
        backends = app.extensions.setdefault(_EXTENSION, {})
        if kind not in backends:
            backends[kind] = _make(app, kind)
        return backends[kind]


def _make(app: Flask, kind: str) -> Backend:
    if kind == "rq":
        return RQBackend(app.config["REDIS_URL"])
    if kind == "inprocess":
        return Runner(app)
    raise RuntimeError(f"Unknown JOBS_BACKEND {kind!r} (use 'rq' or 'inprocess')")
