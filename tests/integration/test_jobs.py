"""The jobs facade on each backend, run for real.

`inprocess` is what a web process without Redis does (its runner thread and
sweeper, started as gunicorn.conf.py starts them). `rq` is what production
does: a real `python -m worker` process against this test worker's Redis db
and database. The rq backend is tested only when TEST_REDIS_URL is set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.jobs import sweeper
from app.models import AuditLog, Status, Tournament, utcnow
from tests.conftest import ROOT
from tests.integration import sample_jobs

BACKENDS = ["inprocess", *(["rq"] if os.environ.get("TEST_REDIS_URL") else [])]
SWEEP_SECONDS = 0.5


@dataclass
class Backend:
    name: str
    log: Callable[[], str]  # what the worker printed, for failure messages


@pytest.fixture(params=BACKENDS)
def backend(request, app, settings, monkeypatch, tmp_path) -> Iterator[Backend]:
    """Jobs run by the named backend, with its periodic sweeper, as deployed."""
    monkeypatch.setitem(app.config, "JOBS_BACKEND", request.param)
    if request.param == "inprocess":
        monkeypatch.setitem(app.config, "SWEEP_SECONDS", SWEEP_SECONDS)
        runner = sweeper.start_in_process(app)
        yield Backend("inprocess", lambda: "")
        runner.stop()
        return
    worker = start_worker(settings, tmp_path / "worker.log")
    yield Backend("rq", lambda: (tmp_path / "worker.log").read_text(errors="replace"))
    stop_process_group(worker)


def start_worker(settings: dict, log_path: Path) -> subprocess.Popen:
    """`python -m worker` on the test database and this test worker's Redis db."""
    env = {
        **os.environ,
        "BRACKETEER_ENV": "test",
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": settings["REDIS_URL"],
        "SECRET_KEY": settings["SECRET_KEY"],
        "INSTANCE_DIR": settings["INSTANCE_DIR"],
        "SWEEP_SECONDS": str(SWEEP_SECONDS),
    }
    with log_path.open("wb") as log:
        # Its own process group: RQ forks a scheduler process that must go with it.
        return subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process_group(process: subprocess.Popen) -> None:
    """Warm shutdown (SIGTERM; the worker stops its scheduler), then SIGKILL any straggler."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for(condition: Callable[[], object], backend: Backend, seconds: float = 20) -> object:
    """Poll the database (a fresh transaction each time) until `condition()` is truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if result := condition():
            db.session.rollback()  # end the read: a later write must not upgrade a stale one
            return result
        time.sleep(0.05)
    pytest.fail(f"nothing happened within {seconds} s on {backend.name}\n{backend.log()}")


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def status_of(tournament_id: int) -> Status:
    return db.session.scalar(select(Tournament.status).where(Tournament.id == tournament_id))


def test_enqueued_job_runs_and_writes_to_the_database(backend):
    jobs.enqueue(sample_jobs.record_audit, "job.ran", note="hello")
    db.session.commit()

    rows = wait_for(lambda: audit_rows("job.ran"), backend)
    assert [row.meta for row in rows] == [{"note": "hello"}]


def test_job_enqueued_for_later_runs_once_due_and_not_before(backend):
    due = utcnow() + timedelta(seconds=1.5)
    jobs.enqueue_at(due, sample_jobs.record_audit, "job.timed")
    db.session.commit()

    assert audit_rows("job.timed") == []
    rows = wait_for(lambda: audit_rows("job.timed"), backend)
    assert rows[0].created_at >= due


def test_job_enqueued_in_a_rolled_back_transaction_never_runs(backend):
    db.session.add(AuditLog(action="cause.rolled_back", object_type="site"))
    jobs.enqueue(sample_jobs.record_audit, "job.from_rollback")
    db.session.rollback()
    jobs.enqueue(sample_jobs.record_audit, "job.after")  # runs after it would have
    db.session.commit()

    wait_for(lambda: audit_rows("job.after"), backend)
    assert audit_rows("job.from_rollback") == []


def test_a_failing_job_does_not_stop_later_jobs(backend):
    jobs.enqueue(sample_jobs.fail, "boom")
    jobs.enqueue(sample_jobs.record_audit, "job.after_failure")
    db.session.commit()

    assert wait_for(lambda: audit_rows("job.after_failure"), backend)


def test_periodic_sweeper_opens_checkin_when_it_is_due(backend, make_tournament):
    opened = utcnow() - timedelta(minutes=1)
    first = make_tournament("first-cup", checkin_opens_at=opened)
    wait_for(lambda: status_of(first.id) == Status.CHECK_IN, backend)

    second = make_tournament("second-cup", checkin_opens_at=opened)  # found by a later sweep
    wait_for(lambda: status_of(second.id) == Status.CHECK_IN, backend)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: jobs.enqueue(lambda: None), "module-level function"),
    (lambda: jobs.enqueue(sample_jobs.record_audit, object()), "plain values"),
    (lambda: jobs.enqueue_at(utcnow().replace(tzinfo=None), sample_jobs.record_audit, "x"),
     "aware datetime"),
], ids=["lambda", "object-argument", "naive-datetime"])
def test_enqueue_refuses_what_a_worker_could_not_run(app, call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_sweep_command_applies_due_transitions_and_says_how_many(runner, make_tournament):
    due = make_tournament("due-cup", checkin_opens_at=utcnow() - timedelta(minutes=1))
    later = make_tournament("later-cup")

    result = runner.invoke(args=["sweep"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Sweep applied 1 transition."
    db.session.rollback()
    assert (status_of(due.id), status_of(later.id)) == (Status.CHECK_IN, Status.REGISTRATION)



def test_a_runner_first_made_by_an_enqueue_runs_its_jobs(app, settings):
    """The in-process runner made by `enqueue` (as a CLI command does, under `current_app`)
    keeps the real app for its thread, so its jobs run."""
    from app import create_app
    from app.jobs.queue import backend_for

    fresh = create_app({**settings, "JOBS_BACKEND": "inprocess", "SWEEP_SECONDS": 0})
    with fresh.app_context():
        jobs.enqueue(sample_jobs.record_audit, "job.first_runner")
        runner = backend_for(fresh)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not audit_rows("job.first_runner"):
            db.session.rollback()
            time.sleep(0.05)
        assert audit_rows("job.first_runner")
        runner.stop()
        db.session.remove()
