"""Start a real Bracketeer server (gunicorn + gevent) on a throwaway database for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(url: str | None, instance: str) -> dict:
    """Migrate and load the demo into `url` (a fresh SQLite file when None)."""
    env = {**os.environ, "INSTANCE_DIR": instance, "FLASK_APP": "wsgi", "SECRET_KEY": "bench"}
    env["DATABASE_URL"] = url or f"sqlite:///{instance}/bench.sqlite3"
    env.pop("REDIS_URL", None)
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    subprocess.run([*flask, "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    return env


@contextmanager
def running_server(database_url: str | None = None, redis_url: str | None = None,
                   workers: int = 1, worker_class: str | None = None):
    """Yield the base URL of a server on a migrated database holding the demo data."""
    with tempfile.TemporaryDirectory() as instance:
        env = prepare_database(database_url, instance)
        port = free_port()
        env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), LOG_LEVEL="error",
                   PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
        if redis_url:
            env["REDIS_URL"] = redis_url
        cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        if worker_class:
            cmd += ["-k", worker_class, "--threads", "64"]
        process = subprocess.Popen([*cmd, "wsgi:app"], env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base)
            yield base
        finally:
            process.terminate()
            process.wait(10)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")
