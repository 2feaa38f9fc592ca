"""The worker process: `python -m worker` (the Procfile's `worker:` line).

An RQ worker on the queue "default" of REDIS_URL, with RQ's scheduler (which
releases `enqueue_at` jobs when they are due), plus a ticker that enqueues
the periodic sweep every SWEEP_SECONDS. It builds the app once and runs each
job in its own app context, in this process: no fork per job, so the
database connection pool is kept between jobs and never shared across a
fork. Run more worker processes for more throughput; a job that crashes the
interpreter takes its worker down, and the process manager restarts it.

Without Redis there is nothing to consume: each web process runs jobs and
the sweeper itself (app.jobs.runner), so this exits with a message.
"""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask
from redis import Redis
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job as RQJob
from rq.queue import Queue

from app import create_app
from app.jobs.job import context
from app.jobs.queue import make_queue
from worker.ticker import SweepTicker

NEEDS_REDIS = (
    "The worker needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0).\n"
    "Without Redis you do not need a worker: each web process (make run) runs the jobs\n"
    "and the periodic sweeper itself."
)


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job inside an app context of one app built at start."""

    def __init__(self, app: Flask, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job: RQJob, queue: Queue, execution: Execution) -> bool:
        with context(self.app):
            return super().perform_job(job, queue, execution)


def main() -> int:
    """Run the worker until SIGTERM/SIGINT; return the exit status."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    if not app.config.get("REDIS_URL"):
        print(NEEDS_REDIS, file=sys.stderr)
        return 2
    connection = Redis.from_url(app.config["REDIS_URL"])
    queue = make_queue(connection)
    worker = AppWorker(app, [queue], connection=connection, serializer=queue.serializer)
    if (seconds := float(app.config.get("SWEEP_SECONDS", 30))) > 0:
        SweepTicker(make_queue(Redis.from_url(app.config["REDIS_URL"])), seconds).start()
    worker.work(with_scheduler=True)
    return 0
