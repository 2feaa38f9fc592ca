"""Settings, read from the environment (a `.env` file is loaded in development)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _sqlite_default(instance: Path) -> str:
    return f"sqlite:///{instance / 'bracketeer.sqlite3'}"


def normalize_database_url(url: str) -> str:
    """Use psycopg2 for PostgreSQL URLs (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def from_environment(env: str | None = None) -> dict:
    """Build the configuration mapping for `env` (development, production, test)."""
    env = env or os.environ.get("BRACKETEER_ENV", "development")
    instance = Path(os.environ.get("INSTANCE_DIR", INSTANCE))
    public_base_url = os.environ.get("PUBLIC_BASE_URL") or (
        f"http://127.0.0.1:{os.environ.get('PORT', '5000')}")
    redis_url = os.environ.get("REDIS_URL") or None
    config = {
        "ENV_NAME": env,
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(
            os.environ.get("DATABASE_URL") or _sqlite_default(instance)
        ),
        "REDIS_URL": redis_url,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(instance / "uploads")),
        "PUBLIC_BASE_URL": public_base_url,
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_base_url.startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": public_base_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute"),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "20 per minute"),
        "SOCK_SERVER_OPTIONS": {"ping_interval": 25, "max_message_size": 16 * 1024},
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", "0.5")),
        # With Redis the hubs are woken by pub/sub; this slower poll is only a safety net.
        "OUTBOX_SAFETY_POLL_SECONDS": float(os.environ.get("OUTBOX_SAFETY_POLL_SECONDS", "5")),
        "WS_ALLOWED_ORIGINS": [
            o for o in os.environ.get("WS_ALLOWED_ORIGINS", "").split(",") if o
        ],
        # Realtime limits (app/realtime/limits.py, rooms.py); 0 turns a cap off (benchmarks).
        "WS_MAX_CONNECTIONS_PER_IP": int(os.environ.get("WS_MAX_CONNECTIONS_PER_IP", "50")),
        "WS_ROOM_CAPACITY": int(os.environ.get("WS_ROOM_CAPACITY", "10000")),
        "WS_SEND_QUEUE": int(os.environ.get("WS_SEND_QUEUE", "100")),
        "WS_MESSAGES_PER_SECOND": float(os.environ.get("WS_MESSAGES_PER_SECOND", "10")),
        "WS_MESSAGE_BURST": float(os.environ.get("WS_MESSAGE_BURST", "20")),
        # How long / how many outbox events are kept for replays; older gaps get a snapshot.
        "OUTBOX_RETENTION_SECONDS": float(os.environ.get("OUTBOX_RETENTION_SECONDS", "86400")),
        "OUTBOX_RETENTION_EVENTS": int(os.environ.get("OUTBOX_RETENTION_EVENTS", "100000")),
        "TRUST_PROXY": os.environ.get("TRUST_PROXY", "").lower() in ("1", "true", "yes", "on"),
        "JOBS_BACKEND": "rq" if redis_url else "inprocess",
        "SWEEP_SECONDS": float(os.environ.get("SWEEP_SECONDS", "30")),  # 0: no sweeper
    }
    if env == "production" and "SECRET_KEY" not in os.environ:
        raise RuntimeError("SECRET_KEY must be set in production")
    return config
