"""Running service calls at the same moment, as concurrent requests would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.database import write_intent
from app.extensions import db
from app.services.errors import DomainError


def concurrently(app, *calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread and session at the same moment; results or errors."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        with app.app_context(), write_intent():
            barrier.wait()
            try:
                outcomes[index] = call()
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                outcomes[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    db.session.rollback()  # end the test's own read transaction to see what the threads did
    return outcomes
