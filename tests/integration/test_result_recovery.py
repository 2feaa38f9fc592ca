"""A killed worker or a lost queue loses no auto-confirmation: the sweeper recovers it, and
the job and the sweep running both still confirm once.

Each test takes the path of the backend this run deploys (no skip): with Redis (the PostgreSQL
+ Redis run) the auto-confirm job sits in RQ's scheduled registry and a real `python -m worker`
process runs jobs and its periodic sweep; without Redis (the SQLite run) a web process holds
the job in its in-process runner's memory and runs the sweeper, so the "worker" is a real
gunicorn process without Redis and "losing the queue" is that process going away.

The confirm deadline is moved into the past with a direct UPDATE (auto-confirm hours are whole
hours). To kill a worker *while* it acts on the due confirmation, the test holds the
tournament's lock (PostgreSQL: its row lock; SQLite: the write lock) so the worker blocks in
the middle of the work, kills it there, then lets go.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job as RQJob
from rq.job import JobStatus
from sqlalchemy import func, select, text, update

from app import jobs
from app.database import write_intent
from app.extensions import db
from app.jobs import results as result_jobs
from app.jobs.queue import make_queue
from app.models import (
    AuditLog,
    Match,
    MatchState,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    Visibility,
    utcnow,
)
from app.services import results, schedule
from tests.conftest import ROOT, LiveServer, start_server
from tests.integration import sample_jobs
from tests.integration.test_jobs import stop_process_group
from tests.integration.test_match_http_races import Browser, act, page, ready
from tests.integration.test_matches import row, side_user, start_bracket

SWEEP_SECONDS = 0.3
WAIT_SECONDS = 30
JOB_NAME = "app.jobs.results.auto_confirm_job"
_JOBS_EXTENSION = "bracketeer.jobs"  # where app.jobs.queue keeps an app's backend


# --- the two deployments ---------------------------------------------------------------------


def process_env(settings: dict, *, redis: bool, sweep_seconds: float) -> dict:
    return {
        **os.environ,
        "BRACKETEER_ENV": "test",
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": (settings["REDIS_URL"] or "") if redis else "",
        "SECRET_KEY": settings["SECRET_KEY"],
        "INSTANCE_DIR": settings["INSTANCE_DIR"],
        "SWEEP_SECONDS": str(sweep_seconds),
        "LOG_LEVEL": "warning",
    }


@dataclass
class Worker:
    """A process that runs auto-confirm jobs and (unless sweep_seconds is 0) the sweeper."""

    process: subprocess.Popen
    server: LiveServer | None = None  # the in-process deployment's worker is a web server


class RQDeployment:
    """Redis: jobs in RQ, run by `python -m worker` (with RQ's scheduler and the sweep ticker)."""

    name = "rq"

    def __init__(self, app, settings: dict, tmp_path: Path) -> None:
        self.app, self.settings, self.tmp_path = app, settings, tmp_path
        self.redis = Redis.from_url(settings["REDIS_URL"])
        self.queue = make_queue(self.redis)
        self.started: list[Worker] = []

    def start(self, sweep_seconds: float) -> Worker:
        with (self.tmp_path / f"worker-{len(self.started)}.log").open("wb") as log:
            # Its own process group: RQ's scheduler process must go with it.
            process = subprocess.Popen(
                [sys.executable, "-m", "worker"], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                env=process_env(self.settings, redis=True, sweep_seconds=sweep_seconds))
        self.started.append(Worker(process))
        return self.started[-1]

    def report(self, match: Match) -> ResultSubmission:
        """Slot a reports 1–0 (through the service: RQ is where the job goes either way)."""
        submission = act(lambda: results.report(side_user(match, 0), match, [[1, 0]],
                                                match.version))
        assert self.scheduled() == [submission.id], "the auto-confirm job is not scheduled"
        return submission

    def scheduled(self) -> list[int]:
        """The submissions whose auto-confirm job waits in RQ's scheduled registry."""
        waiting = []
        for job_id in self.queue.scheduled_job_registry.get_job_ids():
            job = RQJob.fetch(job_id, connection=self.redis, serializer=self.queue.serializer)
            if job.func_name == JOB_NAME:
                waiting.append(job.args[0])
        return waiting

    def lose_queue(self) -> None:
        self.redis.flushdb()
        assert self.scheduled() == []

    def make_job_due(self) -> str:
        """Move the scheduled auto-confirm job to now: RQ's scheduler releases it at once."""
        registry = self.queue.scheduled_job_registry
        (job_id,) = registry.get_job_ids()
        job = RQJob.fetch(job_id, connection=self.redis, serializer=self.queue.serializer)
        registry.schedule(job, utcnow() - timedelta(seconds=1))
        return job_id

    def job_status(self, job_id: str) -> JobStatus:
        return RQJob.fetch(job_id, connection=self.redis,
                           serializer=self.queue.serializer).get_status()

    def job_result(self, job_id: str) -> object:
        return RQJob.fetch(job_id, connection=self.redis,
                           serializer=self.queue.serializer).return_value()

    def kill(self, worker: Worker) -> None:
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")
                         for p in sorted(self.tmp_path.glob("worker-*.log")))

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                stop_process_group(worker.process)


class InProcessDeployment:
    """No Redis: each web process runs jobs (held in memory) and the sweeper itself."""

    name = "inprocess"

    def __init__(self, app, settings: dict, tmp_path: Path) -> None:
        self.app, self.settings = app, settings
        self.started: list[Worker] = []

    def start(self, sweep_seconds: float) -> Worker:
        extra = {"SWEEP_SECONDS": str(sweep_seconds)}
        server = start_server(self.settings, redis=False, extra_env=extra)
        self.started.append(Worker(server.process, server))
        return self.started[-1]

    def report(self, match: Match) -> ResultSubmission:
        """Slot a reports 1–0 through the newest web process: its runner holds the job."""
        server = self.started[-1].server
        reporter = Browser(self.app, server, side_user(match, 0))
        tab = reporter.open(page(server_cup(match), match))
        sent = reporter.submit(tab, page(server_cup(match), match) + "/report",
                               {"game-1-a": "1", "game-1-b": "0"})(threading.Barrier(1))
        assert sent.status == 303, sent.body[:2000]
        db.session.rollback()
        return db.session.scalar(select(ResultSubmission).where(
            ResultSubmission.match_id == match.id))

    def lose_queue(self) -> None:
        """The web process holding the job restarts (its runner's jobs live in memory only)."""
        worker = self.started[-1]
        worker.server.stop()

    def kill(self, worker: Worker) -> None:
        """SIGKILL the gunicorn master and its worker processes at once."""
        pids = [*children(worker.process.pid), worker.process.pid]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.process.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        return "(the web processes log to this test's stderr)"

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.server.stop()


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def server_cup(match: Match) -> Tournament:
    return db.session.get(Tournament, match.tournament_id)


@pytest.fixture
def deployment(app, settings, tmp_path) -> Iterator[RQDeployment | InProcessDeployment]:
    """The backend this run deploys: RQ with Redis, the in-process runner without."""
    kind = RQDeployment if settings["REDIS_URL"] else InProcessDeployment
    made = kind(app, settings, tmp_path)
    yield made
    made.stop_all()


# --- the match, the waits, the checks -----------------------------------------------------


@pytest.fixture
def cup(make_tournament):
    return make_tournament("recovery-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)


@pytest.fixture
def semi(cup, make_field, organizer) -> Match:
    """A semi-final of a 4-entrant bracket with both sides checked in. The sweep has opened
    the other semi-final's check-in already, so a later sweep has only results to confirm."""
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    act(lambda: schedule.sweep(utcnow()))
    assert row(bracket, 1).state == MatchState.CHECK_IN
    return ready(row(bracket, 0))


def past_deadline() -> dict:
    return {"confirm_deadline": utcnow() - timedelta(seconds=1)}


def move_deadline_into_the_past(submission: ResultSubmission) -> None:
    db.session.commit()
    with write_intent():
        db.session.execute(update(ResultSubmission).where(
            ResultSubmission.id == submission.id).values(**past_deadline()))
        db.session.commit()


@contextlib.contextmanager
def tournament_locked(tournament_id: int) -> Iterator[Callable[..., None]]:
    """Hold the tournament's lock (PostgreSQL: its row; SQLite: the write lock) in a connection
    of our own; yields `execute` to run statements in that transaction, committed at the end."""
    db.session.commit()
    with db.engine.connect() as conn:
        with write_intent():  # SQLite: BEGIN IMMEDIATE; this block only, so reads stay plain
            transaction = conn.begin()
            conn.execute(select(Tournament.id).where(Tournament.id == tournament_id)
                         .with_for_update())
        try:
            yield conn.execute
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()


def lock_waiters() -> int:
    """PostgreSQL: how many sessions of this database wait for a lock."""
    with db.engine.connect() as conn:
        return conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"))


def wait_for(condition: Callable[[], object], deployment, what: str,
             seconds: float = WAIT_SECONDS) -> object:
    """Poll (a fresh read each time) until `condition()` is truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if result := condition():
            db.session.rollback()
            return result
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds} s on {deployment.name}\n{deployment.log()}")


def state_of(match: Match) -> MatchState:
    return db.session.scalar(select(Match.state).where(Match.id == match.id))


def auto_confirmations() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "match.auto_confirmed"))


def confirmed_once(cup, match: Match, submission: ResultSubmission) -> None:
    """COMPLETED by the deadline, exactly once, and its winner advanced to the final."""
    db.session.rollback()
    db.session.refresh(match)
    db.session.refresh(submission)
    assert match.state == MatchState.COMPLETED
    assert submission.status == SubmissionStatus.AUTO_CONFIRMED
    assert auto_confirmations() == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.object_type == "match", AuditLog.object_id == match.id,
        AuditLog.action.in_(["match.confirmed", "match.auto_confirmed"]))) == 1
    assert match.winner_seed == match.seed_a
    final = db.session.scalar(select(Match).where(Match.bracket_id == match.bracket_id,
                                                  Match.number == match.winner_to))
    assert (final.seed_a, final.seed_b)[match.winner_to_slot] == match.seed_a


def start_sweep_command(settings: dict) -> subprocess.Popen:
    """`flask --app wsgi sweep` in its own process."""
    env = process_env(settings, redis=bool(settings["REDIS_URL"]), sweep_seconds=0)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sweep"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def output_of(command: subprocess.Popen) -> str:
    out, _ = command.communicate(timeout=60)
    assert command.returncode == 0, out
    return out.strip().splitlines()[-1]


def sweep_command(settings: dict) -> str:
    """`flask --app wsgi sweep` run to its end; the line it printed last."""
    return output_of(start_sweep_command(settings))


def has_open(pid: int, path: str) -> bool:
    """Whether process `pid` has the file open (SQLite: it connected to the database)."""
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == path:
                    return True
    return False


# --- (a) the queue is lost ------------------------------------------------------------------


def test_a_lost_queue_loses_no_auto_confirmation(deployment, cup, semi):
    if deployment.name == "inprocess":
        deployment.start(sweep_seconds=0)  # the web process that takes the report
    submission = deployment.report(semi)
    deployment.lose_queue()  # Redis: FLUSHDB; in-process: the web process restarts
    move_deadline_into_the_past(submission)
    assert state_of(semi) == MatchState.PENDING_RESULT  # nothing else is watching

    deployment.start(sweep_seconds=SWEEP_SECONDS)

    wait_for(lambda: state_of(semi) == MatchState.COMPLETED, deployment, "auto-confirmed")
    time.sleep(SWEEP_SECONDS * 4)  # later sweeps find nothing more to do
    confirmed_once(cup, semi, submission)


# --- (b) the worker is killed while it confirms ------------------------------------------------


def test_a_worker_killed_while_the_confirmation_is_due_loses_nothing(deployment, cup, semi):
    # RQ: only the job acts in the first worker; in-process its sweeper is what the deadline
    # makes due (the job itself waits in memory for the original deadline, hours away).
    first = deployment.start(sweep_seconds=0 if deployment.name == "rq" else SWEEP_SECONDS)
    submission = deployment.report(semi)
    with tournament_locked(cup.id) as execute:
        execute(update(ResultSubmission).where(ResultSubmission.id == submission.id)
                .values(**past_deadline()))
        if deployment.name == "rq":
            job_id = deployment.make_job_due()
            wait_for(lambda: deployment.job_status(job_id) == JobStatus.STARTED, deployment,
                     "the job started")
            if db.engine.dialect.name == "postgresql":
                wait_for(lambda: lock_waiters() >= 1, deployment, "the job waits for the lock")
        else:
            time.sleep(SWEEP_SECONDS * 5)  # a sweep began and waits for the write lock
        deployment.kill(first)
    # The lock is let go (and the deadline committed) only now, with the first worker dead.
    assert state_of(semi) == MatchState.PENDING_RESULT
    assert auto_confirmations() == 0

    deployment.start(sweep_seconds=SWEEP_SECONDS)

    wait_for(lambda: state_of(semi) == MatchState.COMPLETED, deployment, "auto-confirmed")
    time.sleep(SWEEP_SECONDS * 4)
    confirmed_once(cup, semi, submission)


# --- (c) the job and the sweep both run ---------------------------------------------------


@pytest.fixture
def fresh_runner(app, monkeypatch):
    """Without Redis: this process's job runner as a fresh process has it (none yet: the first
    job enqueued makes it). Stopped afterwards; the previous one is put back."""
    if app.config["JOBS_BACKEND"] != "inprocess":
        yield None
        return
    backends = app.extensions.setdefault(_JOBS_EXTENSION, {})
    monkeypatch.delitem(backends, "inprocess", raising=False)
    yield backends
    if runner := backends.get("inprocess"):
        runner.stop()


def run_job(deployment, submission: ResultSubmission) -> Callable[[], object]:
    """Run the auto-confirm job through this run's backend; a call that waits for its end and
    says what it returned (in-process: unknown, None; a sentinel job after it shows it ran)."""
    submission_id = submission.id
    db.session.commit()  # and read nothing more: a job enqueued in a transaction waits for it
    if deployment.name == "rq":
        job_id = deployment.make_job_due()
        return lambda: wait_for(
            lambda: deployment.job_status(job_id) == JobStatus.FINISHED and [
                deployment.job_result(job_id)], deployment, "the job finished")[0]
    marker = f"job.after.{time.monotonic_ns()}"
    jobs.enqueue(result_jobs.auto_confirm_job, submission_id)
    jobs.enqueue(sample_jobs.record_audit, marker)  # runs after it: one job at a time, FIFO
    return lambda: wait_for(lambda: db.session.scalar(select(func.count()).select_from(
        AuditLog).where(AuditLog.action == marker)), deployment, "the job ran") and None


def test_the_job_and_the_sweep_both_running_confirm_once(deployment, settings, cup, semi,
                                                        fresh_runner):
    if deployment.name == "rq":
        deployment.start(sweep_seconds=0)  # runs the job; the sweep is run below, by hand
    submission = act(lambda: results.report(side_user(semi, 0), semi, [[1, 0]], semi.version))
    move_deadline_into_the_past(submission)
    with tournament_locked(cup.id):
        job_done = run_job(deployment, submission)
        sweeping = start_sweep_command(settings)
        if db.engine.dialect.name == "postgresql":
            wait_for(lambda: lock_waiters() >= 2, deployment, "both wait for the lock")
        else:  # the command connected to the database: it waits for the write lock now
            database = db.engine.url.database
            wait_for(lambda: has_open(sweeping.pid, database), deployment, "the sweep waits")
    job_result = job_done()
    swept = output_of(sweeping)
    assert swept in ("Sweep applied 0 transitions.", "Sweep applied 1 transition.")
    confirmed_once(cup, semi, submission)
    if deployment.name == "rq":  # exactly one of the two confirmed
        assert (job_result is True) != (swept == "Sweep applied 1 transition."), (
            job_result, swept)

    # Each again, one after the other: a twin job and a later sweep change nothing.
    assert result_jobs.auto_confirm_job(submission.id) is False
    assert sweep_command(settings) == "Sweep applied 0 transitions."
    confirmed_once(cup, semi, submission)
