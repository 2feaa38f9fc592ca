"""The in-process job runner, used when there is no Redis.

One background thread per process (a greenlet under gunicorn's gevent
workers) keeps a heap of jobs ordered by due time and runs each when it is
due, one at a time, in its own app context. A failing job is logged and the
runner carries on. The thread starts with the first job pushed; web
processes also start it at boot together with the periodic sweeper
(`app.jobs.sweeper.start_in_process`, called from gunicorn.conf.py).

Jobs live in memory only: a restart loses the ones not run yet. Because
every job re-checks the database and the sweeper finds overdue work, that
costs a delay, never a wrong result.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from app.jobs.job import Job

log = logging.getLogger(__name__)

# (due as a UNIX timestamp, tie-breaker keeping FIFO order, job, repeat every n seconds)
_Entry = tuple[float, int, Job, float | None]


class Runner:
    """Runs jobs in a background thread of this process, each when it is due."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def push(self, job: Job) -> None:
        """Run `job` when it is due (now if it has no due time)."""
        self._add(job.due.timestamp() if job.due else time.time(), job, None)
        self.start()

    def every(self, seconds: float, fn: Callable[[], Any]) -> None:
        """Run `fn()` now, then again `seconds` after each run ends."""
        self._add(time.time(), Job.build(fn, (), {}), seconds)
        self.start()

    def start(self) -> None:
        """Start the thread unless it runs (again after a fork or stop)."""
        with self._wake:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="jobs-runner", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the thread and forget every job that has not run yet."""
        with self._wake:
            self._stopping = True
            self._heap.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _add(self, due: float, job: Job, every: float | None) -> None:
        with self._wake:
            heapq.heappush(self._heap, (due, next(self._order), job, every))
            self._wake.notify()

    def _loop(self) -> None:
        while (entry := self._next_due()) is not None:
            _due, _order, job, every = entry
            self._run(job)
            if every is not None:
                with self._wake:
                    if not self._stopping:
                        self._add(time.time() + every, job, every)

    def _next_due(self) -> _Entry | None:
        """Wait until the earliest job is due and take it; None once stopping."""
        with self._wake:
            while not self._stopping:
                delay = self._heap[0][0] - time.time() if self._heap else None
                if delay is not None and delay <= 0:
                    return heapq.heappop(self._heap)
                self._wake.wait(delay)
            return None

    def _run(self, job: Job) -> None:
        try:
            job.perform(self.app)
        except Exception:
            log.exception("job %s failed", job.name)
