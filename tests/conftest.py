"""Fixtures built on the app factory.

The suite runs on SQLite by default, and on PostgreSQL + Redis when
TEST_DATABASE_URL / TEST_REDIS_URL are set. Each xdist worker gets its own
database (and Redis db number), built once by running the migrations; every
test starts from empty tables.
"""

from __future__ import annotations

import contextvars
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.team_fixtures", "tests.registration_fixtures", "tests.bracket_fixtures"]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_NUM = int(WORKER.removeprefix("gw") or 0)
PASSWORD = "correct-horse-42"
# CI replays the same examples on every run (a red CI is then always reproducible); a
# developer's run draws new ones each time and so explores further.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _postgres_database(base_url: str) -> str:
    """A fresh database of this worker's own, next to the one TEST_DATABASE_URL names."""
    from app.config import normalize_database_url

    url = make_url(normalize_database_url(base_url))
    # Unique per test run, so two runs on one machine never share a database.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    name = f"{url.database}_bk_{run}_{WORKER}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _redis_url() -> str | None:
    base = os.environ.get("TEST_REDIS_URL")
    if not base:
        return None
    url = base.rstrip("/")
    if url.count("/") > 2:  # drop a db number given in the URL
        url = url.rsplit("/", 1)[0]
    # TEST_REDIS_DB_BASE keeps two suites run side by side on one machine (e.g. two work
    # trees) from flushing each other's Redis databases.
    return f"{url}/{int(os.environ.get('TEST_REDIS_DB_BASE', '0')) + WORKER_NUM + 1}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> dict:
    """The configuration every app and server of this test session shares."""
    instance = tmp_path_factory.mktemp("instance")
    if base := os.environ.get("TEST_DATABASE_URL"):
        database_url = _postgres_database(base)
    else:
        database_url = f"sqlite:///{instance / 'test.sqlite3'}"
    redis_url = _redis_url()
    return {
        "ENV_NAME": "test",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_DIR": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "JOBS_BACKEND": "rq" if redis_url else "inprocess",
        "UPLOAD_DIR": str(instance / "uploads"),
        "WTF_CSRF_ENABLED": False,
    }


@pytest.fixture(scope="session")
def app(settings):
    """The application, with the schema built by the migrations."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    application = create_app(dict(settings))
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()
    _drop_postgres_database(settings["SQLALCHEMY_DATABASE_URI"])


def _drop_postgres_database(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _app_context(request) -> Iterator[None]:
    """Push an app context for tests that use the app; empty every table afterwards."""
    if "app" not in request.fixturenames and not _needs_app(request):
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        yield
        _check_ledger()
        _empty_database()
    _reset_rate_limits(application)


def _needs_app(request) -> bool:
    return any(
        name in request.fixturenames
        for name in ("client", "make_user", "live_server", "db_session")
    )


def _check_ledger() -> None:
    """After every test: the ledger balances, whatever the test did."""
    from app.extensions import db

    db.session.rollback()
    unbalanced = db.session.execute(text(
        "SELECT transaction_id, SUM(amount) FROM ledger_entries GROUP BY transaction_id "
        "HAVING SUM(amount) != 0")).all()
    assert unbalanced == [], f"ledger transactions that do not sum to zero: {unbalanced}"
    drift = db.session.execute(text(
        "SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) FROM ledger_accounts a "
        "LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id, a.balance "
        "HAVING a.balance != COALESCE(SUM(e.amount), 0)")).all()
    assert drift == [], f"account balances that differ from their entries: {drift}"
    negative = db.session.execute(text(
        "SELECT id, balance FROM ledger_accounts WHERE kind = 'WALLET' AND balance < 0")).all()
    assert negative == [], f"negative wallets: {negative}"
    db.session.rollback()


def _empty_database() -> None:
    from app.extensions import db

    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        _truncate(db.engine, tables)
        return
    with db.engine.begin() as conn:
        # SQLite has no TRUNCATE: lift the append-only triggers for the clean-up only.
        triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        triggers = triggers.all()
        for name, _sql in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        for _name, sql in triggers:
            conn.execute(text(sql))


def _truncate(engine, tables: list[str]) -> None:
    """TRUNCATE every table (it does not fire the ledger's append-only row triggers).

    TRUNCATE takes its exclusive locks one table at a time, so a live server reading two of
    the tables in one transaction (its hub tailing the outbox) can deadlock with it;
    PostgreSQL then cancels one side. The server's side retries by itself; ours does here.
    """
    from sqlalchemy.exc import OperationalError

    for attempt in range(10):
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as error:
            code = getattr(error.orig, "pgcode", None)
            if code not in ("40P01", "55P03") or attempt == 9:  # deadlock, lock timeout
                raise
            time.sleep(0.05 * (attempt + 1))


def _reset_rate_limits(application) -> None:
    from app.extensions import limiter

    with application.app_context():
        limiter.reset()
    if url := application.config.get("REDIS_URL"):
        from redis import Redis

        Redis.from_url(url).flushdb()


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server would.

    The test itself holds an app context (and a database session) for its own
    queries; a request must not share that context's `g` or session. After the
    request the test's session is rolled back so that it sees what the request
    committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        from app.extensions import db

        if has_app_context():
            db.session.rollback()
        return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app):
    from app.extensions import db

    return db.session


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One scrypt hash shared by every test user (hashing is deliberately slow)."""
    return generate_password_hash(PASSWORD)


@pytest.fixture
def make_user(app, password_hash) -> Callable:
    from app.models import User

    def make(username: str, *, admin: bool = False, display_name: str | None = None) -> User:
        user = User(username=username, display_name=display_name or username.title(),
                    email=f"{username}@example.com", password_hash=password_hash,
                    is_admin=admin)
        save(user)
        return user

    return make


def save(*objects) -> None:
    """Commit test data the way the app writes: with the write lock taken up front.

    A test's session may hold an old read snapshot (it read a fixture's attributes);
    on SQLite, upgrading that to a write after a background writer (the in-process
    runner, a live server) committed fails at once with "database is locked".
    """
    from app.database import write_intent
    from app.extensions import db

    db.session.commit()  # end any read snapshot (and keep what the test changed)
    with write_intent():
        db.session.add_all(objects)
        db.session.commit()


def login(client, user) -> None:
    """Sign `client` in as `user` without the (rate-limited, slow) login form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def admin(make_user):
    return make_user("admin", admin=True)


@pytest.fixture
def organizer(make_user):
    return make_user("orga")


@pytest.fixture
def other_organizer(make_user):
    return make_user("otherorga")


@pytest.fixture
def player(make_user):
    return make_user("player")


@pytest.fixture
def game(app):
    from app.models import Game

    g = Game(name="Rocket League", team_size=3, lobby_fields=["room_code", "password", "region"])
    save(g)
    return g


@pytest.fixture
def make_tournament(app, game, organizer) -> Callable:
    """Create a tournament directly in the database, organized by `organizer`."""
    from app.models import Format, StaffMember, StaffRole, Status, Tournament, utcnow

    def make(slug: str = "spring-cup", *, owner=None, **fields) -> Tournament:
        owner = owner or organizer
        start = utcnow() + timedelta(days=7)
        values = dict(
            slug=slug, name=slug.replace("-", " ").title(), game_id=game.id,
            format=Format.SINGLE_ELIMINATION, capacity=16, starts_at=start,
            registration_opens_at=utcnow() - timedelta(days=1),
            registration_closes_at=start - timedelta(hours=1),
            checkin_opens_at=start - timedelta(minutes=30), checkin_closes_at=start,
            status=Status.REGISTRATION, created_by_id=owner.id,
        )
        values.update(fields)
        t = Tournament(**values)
        t.staff.append(StaffMember(user_id=owner.id, role=StaffRole.ORGANIZER))
        save(t)
        return t

    return make


@pytest.fixture
def tournament(make_tournament):
    return make_tournament()


# --- a real server -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    env: dict

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(settings: dict, *, workers: int = 1, redis: bool | None = None,
                 extra_env: dict | None = None, port: int | None = None) -> LiveServer:
    """Start gunicorn (gevent workers) on a free port (or `port`) against the test database."""
    port = port or free_port()
    env = {
        **os.environ,
        "BRACKETEER_ENV": "test",
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": settings["SECRET_KEY"],
        "INSTANCE_DIR": settings["INSTANCE_DIR"],
        "UPLOAD_DIR": settings["UPLOAD_DIR"],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "OUTBOX_POLL_SECONDS": "0.2",
        "SWEEP_SECONDS": "0",  # no background sweeps racing the tests; they sweep explicitly
        "LOG_LEVEL": "warning",
    }
    use_redis = settings["REDIS_URL"] is not None if redis is None else redis
    env["REDIS_URL"] = settings["REDIS_URL"] or "" if use_redis else ""
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return LiveServer(url, process, env)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start in 20 s")


@pytest.fixture(scope="session")
def _session_server(app, settings) -> Iterator[LiveServer]:
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture
def live_server(_session_server) -> LiveServer:
    """A real gunicorn server (gevent) sharing the test database."""
    return _session_server
