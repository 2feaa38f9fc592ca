"""Result jobs: confirm a score report whose opponent did nothing before its deadline."""

from __future__ import annotations

from app.extensions import db
from app.services.errors import DomainError


def auto_confirm_job(submission_id: int) -> bool:
    """Enqueued at a report's deadline; re-checks the database, so a late or twin run is a no-op."""
    from app.services import results  # the service enqueues this job: import it when run

    try:
        done = results.auto_confirm(submission_id)
    except DomainError:
        db.session.rollback()
        return False
    db.session.commit()
    return done
