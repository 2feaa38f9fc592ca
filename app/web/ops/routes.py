"""Health probes for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db
from app.web.access import ANYONE, requires

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@requires(ANYONE)
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
@requires(ANYONE)
def readyz():
    """The database (and Redis, when configured) answer."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        db.session.rollback()
        checks["database"] = f"error: {type(error).__name__}"
    if url := current_app.config.get("REDIS_URL"):
        from redis import Redis

        try:
            Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
            checks["redis"] = "ok"
        except Exception as error:  # noqa: BLE001
            checks["redis"] = f"error: {type(error).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
