"""Result throughput through HTTP: report → confirm → advance, 8 concurrent clients.

Run: .venv/bin/python bench/results.py [--entrants 256] [--clients 8]
     [--databases sqlite,postgresql] [--flows report,check-in] [--web-concurrency 1]
     [--no-follow] [--profile DIR]

Two flows, each on its own fresh database: `report` (the primary figure, the goal's): a
tournament whose players do not check in to each match, so per match side A POSTs its
report and side B confirms; `check-in`: per-match check-in on (the default setting), so both
sides POST check-in first (four POSTs per match).

For each database: a fresh schema (a temporary SQLite file; on PostgreSQL a scratch database
bench_results_<pid> on postgresql://postgres@127.0.0.1:5432, dropped afterwards), migrations
applied, a LIVE best-of-1 double elimination of N confirmed, checked-in players, generated and
finalized through app.services.brackets. Then a real gunicorn (gevent, the production config;
PostgreSQL also with REDIS_URL=redis://127.0.0.1:6379/9, the production path for jobs and
hubs) and C client threads, each on its own keep-alive connection, play the bracket to its
champion through the player forms exactly as a browser does: (with check-in: both sides POST
check-in,) side A POSTs its report (multipart, as the page's form is), side B POSTs confirm;
every POST carries the session's CSRF token and the match version, answers 303 and is followed
by a GET of the match page (--no-follow: no GET; the version is then read from the database).
A client takes
the next playable match (both entrants known, SCHEDULED/CHECK_IN/READY), read from the database
read-only by the bench; the version of the next POST comes from the page the previous one
redirected to (data-version), as the player's open page has it.

Sessions are cookies signed with the server's SECRET_KEY (as tests/web/test_realtime.py does;
no /login round trip); each player's session GETs its first match page once before the clock
starts, and that page's CSRF token (the session's, as every form carries it) is reused.
Only the play is timed. Prints per database: completed matches/s over the whole play,
p50/p99/max of the confirm POST (send to response), p50/p99 of report, check-in and the
followed page GET, 409s and 5xx, CPU use of server, bench and machine; then the goal line.
Any 5xx, a refused action, an unfinished tournament or an undecided match prints PROBLEM and
exits 1.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/9"
SECRET_KEY = "bench-results-secret"
USER_AGENT = "bench-results/1 (bracketeer)"
PASSWORD = "bench-password"
HIGH_LIMIT = "100000 per minute"
SLUG = "bench-results"
GOAL_RATE = 100.0
GOAL_P99_MS = 100.0
STALL_SECONDS = 30.0
PLAYABLE = ("SCHEDULED", "CHECK_IN", "READY")
FLOWS = ("report", "check-in")
OPEN_STATES = ("PENDING", "SCHEDULED", "CHECK_IN", "READY", "LIVE", "PENDING_RESULT", "DISPUTED")
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')  # base.html, every page
VERSION_RE = re.compile(r'data-version="(\d+)"')


# --- databases ---------------------------------------------------------------------------------


@dataclass
class Database:
    label: str
    url: str  # SQLAlchemy / DATABASE_URL
    redis_url: str | None
    connect: Callable[[], object]  # a read-only DB-API connection for the bench's own reads
    param: str  # the driver's placeholder


@contextmanager
def database(kind: str, instance: str) -> Iterator[Database]:
    """A fresh, empty database of `kind`; PostgreSQL's is dropped on the way out."""
    if kind == "sqlite":
        import sqlite3

        path = f"{instance}/bench.sqlite3"

        def reader() -> sqlite3.Connection:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                   isolation_level=None)
            conn.execute("PRAGMA busy_timeout=15000")
            return conn

        yield Database("SQLite", f"sqlite:///{path}", None, reader, "?")
        return
    import psycopg2

    name = f"bench_results_{os.getpid()}"
    admin = psycopg2.connect(f"{PG_SERVER}/postgres", connect_timeout=3)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"

    def reader():
        conn = psycopg2.connect(url)
        conn.set_session(readonly=True, autocommit=True)
        return conn

    try:
        yield Database("PostgreSQL", url, REDIS_URL, reader, "%s")
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(f"{PG_SERVER}/postgres", connect_timeout=2).close()
        return True
    except Exception:  # noqa: BLE001
        return False


# --- set-up through the app (not timed) ---------------------------------------------------------


@dataclass
class Player:
    user_id: int
    cookie: str  # the Cookie header of this player's browser
    csrf: str = ""
    first_match: int | None = None


@dataclass
class Field:
    tournament_id: int
    bracket_id: int
    players: dict[int, Player]  # by seed
    matches: int  # rows in the bracket


def prepare(db: Database, instance: str, entrants: int, checkin: bool) -> Field:
    """Migrate, fill a LIVE double elimination with `entrants` players, generate, finalize.

    `checkin`: the tournament's "players check in to each match" setting."""
    from flask_login.utils import _create_identifier
    from flask_migrate import upgrade
    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from app import create_app
    from app.database import write_intent
    from app.extensions import db as sa
    from app.models import (
        BracketEntrant,
        Format,
        Game,
        Match,
        Registration,
        StaffMember,
        StaffRole,
        Status,
        Tournament,
        User,
        utcnow,
    )
    from app.services import brackets
    from bench.generation import add_players

    app = create_app({"SQLALCHEMY_DATABASE_URI": db.url, "INSTANCE_DIR": instance,
                      "SECRET_KEY": SECRET_KEY, "REDIS_URL": None, "JOBS_BACKEND": "inprocess",
                      "RATELIMIT_STORAGE_URI": "memory://", "SWEEP_SECONDS": 0})
    password_hash = generate_password_hash(PASSWORD)  # once, shared by every player
    with app.app_context():
        upgrade()
        now = utcnow()
        with write_intent():
            organizer = User(username="orga", display_name="Orga", email="orga@example.test",
                             password_hash=password_hash)
            game = Game(name="Bench", team_size=1, lobby_fields=[])
            sa.session.add_all([organizer, game])
            sa.session.flush()
            tournament = Tournament(
                slug=SLUG, name="Bench results", game_id=game.id,
                format=Format.DOUBLE_ELIMINATION, capacity=max(entrants, 16),
                status=Status.LIVE, starts_at=now - timedelta(minutes=5),
                best_of=1, best_of_finals=1, created_by_id=organizer.id,
                match_checkin=checkin)
            tournament.staff.append(StaffMember(user_id=organizer.id, role=StaffRole.ORGANIZER))
            sa.session.add(tournament)
            sa.session.flush()
            add_players(tournament, entrants, password_hash)
            sa.session.commit()
        with write_intent():
            bracket = brackets.generate(organizer, tournament, brackets.Options(),
                                        brackets.version_of(tournament))
            sa.session.commit()
        with write_intent():
            brackets.finalize(organizer, tournament, bracket.version)
            sa.session.commit()
        seeds = sa.session.execute(
            select(BracketEntrant.seed, User.id, User.session_token)
            .join(Registration, Registration.id == BracketEntrant.registration_id)
            .join(User, User.id == Registration.user_id)
            .where(BracketEntrant.bracket_id == bracket.id)).all()
        serializer = app.session_interface.get_signing_serializer(app)
        with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                      headers={"User-Agent": USER_AGENT}):
            ident = _create_identifier()  # Flask-Login's session protection ("basic")
        players = {seed: Player(uid, "session=" + serializer.dumps(
            {"_user_id": f"{uid}:{token}", "_fresh": True, "_id": ident}))
            for seed, uid, token in seeds}
        for row in sa.session.execute(select(Match.id, Match.seed_a, Match.seed_b).where(
                Match.bracket_id == bracket.id).order_by(Match.number)):
            for seed in (row.seed_a, row.seed_b):  # a player with a bye: its round-2 match
                if seed in players and players[seed].first_match is None:
                    players[seed].first_match = row.id
        count = sa.session.scalar(select(func.count()).select_from(Match).where(
            Match.bracket_id == bracket.id))
        result = Field(tournament.id, bracket.id, players, count)
        sa.session.remove()
        sa.engine.dispose()
    return result


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(db: Database, instance: str, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """gunicorn -c gunicorn.conf.py wsgi:app on `db`; yields (host:port, master pid)."""
    port = free_port()
    env = {**os.environ, "BRACKETEER_ENV": "production", "DATABASE_URL": db.url,
           "SECRET_KEY": SECRET_KEY, "INSTANCE_DIR": instance, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers), "SWEEP_SECONDS": "0", "LOG_LEVEL": "error",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "LOGIN_LIMIT_PER_ACCOUNT": HIGH_LIMIT, "LOGIN_LIMIT_PER_IP": HIGH_LIMIT}
    env.pop("REDIS_URL", None)
    env.pop("ACCESS_LOG", None)
    if db.redis_url:
        env["REDIS_URL"] = db.redis_url
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait(f"http://127.0.0.1:{port}", process, workers)
            yield f"127.0.0.1:{port}", process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait(base: str, process: subprocess.Popen, workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            if len(worker_pids(process.pid)) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def worker_pids(master: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{master}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(pids)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- clients -------------------------------------------------------------------------------------


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: {
        "check-in": [], "report": [], "confirm": [], "page": []})
    statuses: dict[int, int] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    completed: int = 0
    last_confirm: float = 0.0


class Browser:
    """One client: a keep-alive connection that acts for whichever player it plays for."""

    def __init__(self, address: str, follow: bool, stats: Stats, lock: threading.Lock) -> None:
        host, port = address.split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.follow, self.stats, self.lock = follow, stats, lock

    def request(self, method: str, path: str, player: Player, body: bytes | None = None,
                content_type: str | None = None) -> tuple[int, dict[str, str], bytes, float]:
        headers = {"Cookie": player.cookie, "User-Agent": USER_AGENT,
                   "Accept": "text/html", "Host": f"{self.host}:{self.port}"}
        if content_type:
            headers["Content-Type"] = content_type
            headers["Origin"] = f"http://{self.host}:{self.port}"
        for attempt in (1, 2):
            start = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection before the request reached
                # it (nothing was processed): reconnect once.
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - start
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data, \
                elapsed
        raise AssertionError("unreachable")

    def page(self, path: str, player: Player) -> bytes:
        status, headers, data, elapsed = self.request("GET", path, player)
        self._cookie(player, headers)
        with self.lock:
            self.stats.latency["page"].append(elapsed)
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        if status != 200:
            with self.lock:
                self.stats.refusals.append(f"GET {path} as user {player.user_id}: {status}")
        return data

    def post(self, kind: str, path: str, player: Player, fields: dict[str, str],
             multipart: bool = False) -> tuple[int, bytes]:
        fields = {"csrf_token": player.csrf, **fields}
        if multipart:
            body, content_type = _multipart(fields)
        else:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        status, headers, data, elapsed = self.request("POST", path, player, body, content_type)
        if self.follow:
            self._cookie(player, headers)  # the flash message rides in the session cookie
        with self.lock:
            self.stats.latency[kind].append(elapsed)
            self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
            if kind == "confirm" and status == 303:
                self.stats.completed += 1
                self.stats.last_confirm = time.perf_counter()
        if status == 303 and self.follow:
            location = urlsplit(headers.get("location", ""))
            data = self.page(location.path + (f"?{location.query}" if location.query else ""),
                             player)
        return status, data

    @staticmethod
    def _cookie(player: Player, headers: dict[str, str]) -> None:
        cookie = headers.get("set-cookie")
        if cookie and cookie.startswith("session="):
            player.cookie = cookie.split(";", 1)[0]


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """The report form as a browser sends it: multipart, an empty file input included."""
    boundary = "----benchresults" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="screenshots"; '
                 'filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n')
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Job:
    match_id: int
    version: int
    seed_a: int
    seed_b: int


class Queue:
    """Playable matches, found by reading the database (read-only), each handed out once."""

    def __init__(self, db: Database, field_: Field) -> None:
        self.db, self.field = db, field_
        self.cond = threading.Condition()
        self.pending: deque[Job] = deque()
        self.claimed: set[int] = set()
        self.polling = False
        self.done = False
        self.stalled = False
        self.progress = time.monotonic()
        self.local = threading.local()
        p = db.param
        self.ready_sql = (
            "SELECT id, version, seed_a, seed_b FROM matches WHERE bracket_id = " + p +
            f" AND state IN ({', '.join(repr(s) for s in PLAYABLE)}) AND seed_a > 0 AND seed_b"
            " > 0 ORDER BY number")
        self.status_sql = "SELECT status FROM tournaments WHERE id = " + p
        self.version_sql = "SELECT version FROM matches WHERE id = " + p

    def cursor(self):
        if not hasattr(self.local, "conn"):
            self.local.conn = self.db.connect()
        return self.local.conn.cursor()

    def version(self, match_id: int) -> int:
        cursor = self.cursor()
        cursor.execute(self.version_sql, (match_id,))
        return cursor.fetchone()[0]

    def finished(self) -> None:
        with self.cond:
            self.progress = time.monotonic()
            self.cond.notify_all()

    def next(self) -> Job | None:
        while True:
            with self.cond:
                while not self.done and not self.pending and self.polling:
                    self.cond.wait(0.05)
                if self.done:
                    return None
                if self.pending:
                    return self.pending.popleft()
                self.polling = True
            found = self._poll()
            with self.cond:
                self.polling = False
                self.cond.notify_all()
            if not found and not self.done:
                time.sleep(0.002)

    def _poll(self) -> bool:
        cursor = self.cursor()
        cursor.execute(self.ready_sql, (self.field.bracket_id,))
        rows = cursor.fetchall()
        with self.cond:
            new = [Job(*row) for row in rows if row[0] not in self.claimed]
            for job in new:
                self.claimed.add(job.match_id)
                self.pending.append(job)
            if new:
                return True
        cursor.execute(self.status_sql, (self.field.tournament_id,))
        status = cursor.fetchone()[0]
        with self.cond:
            if status == "COMPLETED":
                self.done = True
            elif time.monotonic() - self.progress > STALL_SECONDS:
                self.done = self.stalled = True
        return False


def play(browser: Browser, queue: Queue, field_: Field, slug: str, checkin: bool) -> None:
    """Take playable matches until the tournament is over: A wins 1–0, B confirms."""
    while (job := queue.next()) is not None:
        a, b = field_.players[job.seed_a], field_.players[job.seed_b]
        base = f"/t/{slug}/m/{job.match_id}"
        version = job.version
        steps = [("check-in", a, {}), ("check-in", b, {})] if checkin else []
        steps += [("report", a, {"game-1-a": "1", "game-1-b": "0", "links": ""}),
                  ("confirm", b, {})]
        for kind, player, fields in steps:
            for _attempt in range(3):
                status, page = browser.post(kind, f"{base}/{kind}", player,
                                            {"version": str(version), **fields},
                                            multipart=kind == "report")
                seen = VERSION_RE.search(page.decode()) if browser.follow and page else None
                if status == 303 and seen:
                    version = int(seen.group(1))
                else:
                    version = queue.version(job.match_id)
                if status == 303:
                    break
                with browser.lock:
                    browser.stats.refusals.append(
                        f"{kind} of match {job.match_id} as user {player.user_id}: {status}")
            else:
                break  # give up on this match; the stall check reports the tournament
        queue.finished()


def run_play(address: str, db: Database, field_: Field, clients: int, follow: bool,
             master: int, profile: Path | None, profile_format: str = "raw",
             checkin: bool = False) -> dict:
    stats, lock = Stats(), threading.Lock()
    # Each player's browser opens its first match page once: the session gets its CSRF token.
    players = list(field_.players.values())
    browsers = [Browser(address, follow, stats, lock) for _ in range(clients)]

    def open_pages(i: int) -> None:
        for player in players[i::clients]:
            html = browsers[i].page(f"/t/{SLUG}/m/{player.first_match}", player).decode()
            found = CSRF_RE.search(html)
            if found is None:
                raise RuntimeError(f"no CSRF token on the match page of user {player.user_id}")
            player.csrf = found.group(1)

    _threads([lambda i=i: open_pages(i) for i in range(clients)])
    stats.latency["page"].clear()
    stats.statuses.clear()
    for browser in browsers:  # fresh connections for the timed part
        browser.conn.close()

    queue = Queue(db, field_)
    pids = worker_pids(master)
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        suffix = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[profile_format]
        out = profile / f"{db.label.lower()}-w{len(pids)}-{pids[0]}.{suffix}"
        spy = subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-o", str(out),
                                "--pid", str(pids[0]), "--rate", "200", "--nonblocking",
                                "--format", profile_format],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    server_cpu = sum(cpu_seconds(p) for p in pids)
    busy0, total0 = machine_busy()
    bench_cpu = time.process_time()
    started = time.perf_counter()
    _threads([lambda b=b: play(b, queue, field_, SLUG, checkin) for b in browsers])
    ended = stats.last_confirm or time.perf_counter()
    wall = time.perf_counter() - started
    bench_cpu = time.process_time() - bench_cpu
    busy1, total1 = machine_busy()
    server_cpu = sum(cpu_seconds(p) for p in pids) - server_cpu
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    cores = os.cpu_count() or 1
    return {"stats": stats, "seconds": ended - started, "stalled": queue.stalled,
            "server_cpu": server_cpu / wall, "bench_cpu": bench_cpu / wall,
            "machine_cpu": (busy1 - busy0) / max(total1 - total0, 1) * cores}


def _threads(targets: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guard(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=guard, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- checks and report -------------------------------------------------------------------------


def verify(db: Database, field_: Field, result: dict) -> list[str]:
    """Problems: an unfinished tournament, an undecided match, a 5xx, a refused action."""
    stats: Stats = result["stats"]
    problems = []
    conn = db.connect()
    cursor = conn.cursor()
    p = db.param
    cursor.execute(f"SELECT status FROM tournaments WHERE id = {p}", (field_.tournament_id,))
    status = cursor.fetchone()[0]
    cursor.execute(f"SELECT state, outcome, count(*) FROM matches WHERE bracket_id = {p} "
                   "GROUP BY state, outcome", (field_.bracket_id,))
    states = cursor.fetchall()
    conn.close()
    if status != "COMPLETED":
        problems.append(f"{db.label}: the tournament is {status}, not COMPLETED"
                        + (" (play stalled)" if result["stalled"] else ""))
    undecided = sum(n for state, _, n in states if state in OPEN_STATES)
    if undecided:
        problems.append(f"{db.label}: {undecided} matches are not decided")
    played = sum(n for state, outcome, n in states if state == "COMPLETED" and outcome == "played")
    if played != stats.completed:
        problems.append(f"{db.label}: {played} matches were played, the clients confirmed "
                        f"{stats.completed}")
    if errors := sum(n for s, n in stats.statuses.items() if s >= 500):
        problems.append(f"{db.label}: {errors} HTTP 5xx answers")
    if conflicts := stats.statuses.get(409, 0):
        problems.append(f"{db.label}: {conflicts} HTTP 409 conflicts (each match has one client)")
    for refusal in stats.refusals[:5]:
        problems.append(f"{db.label}: refused: {refusal}")
    return problems


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


HEADER = (f"{'database':<11} {'flow':<8} {'web':>3} {'matches':>7} {'s':>6} {'matches/s':>9}  "
          f"{'confirm p50/p99/max ms':>22}  {'report p50/p99':>14}  {'check-in p50/p99':>16}  "
          f"{'page p50/p99':>13} {'409':>4} {'5xx':>4}  {'CPU server/bench/all':>20}")


def row(label: str, flow: str, workers: int, result: dict) -> str:
    stats: Stats = result["stats"]
    lat = stats.latency
    rate = stats.completed / result["seconds"] if result["seconds"] > 0 else 0.0

    def pair(kind: str) -> str:
        if not lat[kind]:
            return "-"
        return f"{percentile(lat[kind], 0.5):.1f}/{percentile(lat[kind], 0.99):.1f}"

    confirm = (f"{percentile(lat['confirm'], 0.5):.1f}/{percentile(lat['confirm'], 0.99):.1f}/"
               f"{percentile(lat['confirm'], 1.0):.1f}")
    fivexx = sum(n for s, n in stats.statuses.items() if s >= 500)
    cpu = (f"{result['server_cpu'] * 100:.0f}%/{result['bench_cpu'] * 100:.0f}%/"
           f"{result['machine_cpu'] * 100:.0f}%")
    return (f"{label:<11} {flow:<8} {workers:>3} {stats.completed:>7} {result['seconds']:>6.2f} "
            f"{rate:>9.1f}  {confirm:>22}  {pair('report'):>14}  {pair('check-in'):>16}  "
            f"{pair('page'):>13} {stats.statuses.get(409, 0):>4} {fivexx:>4}  {cpu:>20}")


def meets(result: dict) -> tuple[bool, float, float]:
    stats: Stats = result["stats"]
    rate = stats.completed / result["seconds"] if result["seconds"] > 0 else 0.0
    p99 = percentile(stats.latency["confirm"], 0.99)
    return rate >= GOAL_RATE and p99 < GOAL_P99_MS, rate, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrants", type=int, default=256)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--flows", default=",".join(FLOWS),
                        help="report (no per-match check-in: the goal's figure) and/or "
                             "check-in (both sides check in first)")
    parser.add_argument("--web-concurrency", default="1",
                        help="gunicorn worker processes, a comma list runs each (e.g. 1,2)")
    parser.add_argument("--no-follow", dest="follow", action="store_false",
                        help="do not GET the match page each 303 redirects to")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy record the (first) gunicorn worker during the play into DIR")
    parser.add_argument("--profile-format", default="raw",
                        choices=["raw", "flamegraph", "speedscope"],
                        help="py-spy output: raw (collapsed stacks, .txt), flamegraph (.svg)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if any(k not in ("sqlite", "postgresql") for k in kinds) or args.entrants < 4:
        sys.exit("--databases: sqlite and/or postgresql; --entrants at least 4")
    if args.profile and not (ROOT / ".venv" / "bin" / "py-spy").exists():
        sys.exit("--profile records with py-spy, which the project does not install: "
                 ".venv/bin/pip install py-spy")
    concurrency = [int(w) for w in args.web_concurrency.split(",")]
    flows = [f.strip() for f in args.flows.split(",") if f.strip()]
    if any(f not in FLOWS for f in flows):
        sys.exit("--flows: report and/or check-in")
    print(f"{args.entrants}-entrant double elimination (best of 1), played through HTTP by "
          f"{args.clients} client threads (keep-alive http.client, one connection each); per "
          "match, flow 'report': report, confirm (no per-match check-in; the goal's figure); "
          "flow 'check-in': 2 check-ins, report, confirm"
          + (", each 303 followed by a GET of the match page" if args.follow else
             " (redirects not followed)"))
    print("gunicorn gevent, production config; PostgreSQL with REDIS_URL (RQ jobs, pub/sub); "
          "CPU: share of one core (server workers / bench process / whole machine, "
          f"{os.cpu_count()} cores); load average now {_load()} — other work on the machine "
          "makes every figure pessimistic")
    print()
    print(HEADER)
    print("-" * len(HEADER))
    problems: list[str] = []
    measured: list[tuple[str, int, dict]] = []
    for kind in kinds:
        if kind == "postgresql" and not postgres_reachable():
            problems.append("PostgreSQL at 127.0.0.1:5432 does not answer: not measured")
            continue
        for flow, workers in [(f, w) for f in flows for w in concurrency]:
            checkin = flow == "check-in"
            with tempfile.TemporaryDirectory() as instance, database(kind, instance) as db:
                field_ = prepare(db, instance, args.entrants, checkin)
                log = Path(instance) / "server.log"
                jobs_before = _scheduled_jobs(db.redis_url)
                try:
                    with server(db, instance, workers, log) as (address, master):
                        result = run_play(address, db, field_, args.clients, args.follow,
                                          master, args.profile, args.profile_format, checkin)
                finally:
                    _drop_new_jobs(db.redis_url, jobs_before)
                print(row(db.label, flow, workers, result), flush=True)
                found = verify(db, field_, result)
                if found and log.exists():
                    tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                    found += [f"{db.label}: server log: {line}" for line in tail]
                problems += found
                if flow == "report":  # the goal is the report → confirm → advance flow
                    measured.append((db.label, workers, result))
    print("(matches/s: confirmed matches over the whole play; latency: send to response of the "
          "POST, 'page': the GET after a 303)")
    print(f"(load average at the end {_load()})")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    verdicts = [(label, w, *meets(r)) for label, w, r in measured]
    missed = [f"{label} web={w}: {rate:.0f} matches/s, p99 confirm {p99:.0f} ms"
              for label, w, ok, rate, p99 in verdicts if not ok]
    verdict = "not measured" if not verdicts else "MET" if not missed else (
        "NOT MET (" + "; ".join(missed) + ")")
    print(f"goals (≥ {GOAL_RATE:.0f} matches/s, p99 confirm < {GOAL_P99_MS:.0f} ms): {verdict}")
    if problems:
        sys.exit(1)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _scheduled_jobs(redis_url: str | None) -> set[str]:
    if not redis_url:
        return set()
    from redis import Redis
    from rq.registry import ScheduledJobRegistry

    from app.jobs.queue import QUEUE_NAME

    return set(ScheduledJobRegistry(QUEUE_NAME, connection=Redis.from_url(redis_url))
               .get_job_ids())


def _drop_new_jobs(redis_url: str | None, before: set[str]) -> None:
    """The auto-confirm jobs this run scheduled (24 h ahead) would outlive its database."""
    if not redis_url:
        return
    from redis import Redis
    from rq.job import Job as RQJob
    from rq.registry import ScheduledJobRegistry

    from app.jobs.queue import QUEUE_NAME

    connection = Redis.from_url(redis_url)
    registry = ScheduledJobRegistry(QUEUE_NAME, connection=connection)
    for job_id in set(registry.get_job_ids()) - before:
        registry.remove(job_id, delete_job=True)
        try:
            RQJob.fetch(job_id, connection=connection).delete()
        except Exception:  # noqa: BLE001  (gone already)
            pass


if __name__ == "__main__":
    main()
