"""Enqueues the periodic sweep: once per SWEEP_SECONDS across all workers."""

from __future__ import annotations

import logging
import threading
import time

from rq import Queue

from app.jobs import sweeper

log = logging.getLogger(__name__)


class SweepTicker(threading.Thread):
    """A daemon thread that enqueues `sweeper.sweep` once per time slot.

    Time is cut into slots of `seconds`; each worker tries to claim the current
    slot in Redis (SET NX) and only the one that gets it enqueues the sweep, so
    N workers still sweep once per slot, and a dead worker leaves no gap.
    """

    def __init__(self, queue: Queue, seconds: float) -> None:
        super().__init__(name="sweep-ticker", daemon=True)
        self.queue = queue
        self.seconds = seconds

    def run(self) -> None:
        while True:
            slot = int(time.time() // self.seconds)
            try:
                self.tick(slot)
            except Exception:  # Redis away for a moment: try again next slot
                log.exception("could not enqueue the sweep")
            time.sleep(max(0.0, (slot + 1) * self.seconds - time.time()))

    def tick(self, slot: int) -> bool:
        """Enqueue the sweep if this worker is the first to claim `slot`."""
        claimed = self.queue.connection.set(
            f"bracketeer:sweep:{self.seconds}:{slot}", "1", nx=True,
            px=int(self.seconds * 2000),
        )
        if claimed:
            self.queue.enqueue_call(sweeper.sweep, description="periodic sweep")
        return bool(claimed)
