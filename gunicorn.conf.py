"""Gunicorn settings for `make run` and production (see README: Deployment)."""

import os

_default_bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
bind = os.environ.get("BIND") or _default_bind
# gevent: one process holds thousands of WebSockets and ordinary requests alike.
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 10
# gunicorn's control socket lives at one fixed path per user, shared by every server on the
# machine (tests and benchmarks start several); nothing here uses it.
control_socket_disable = True
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def on_starting(server):
    """Every WebSocket is an open file: lift the soft limit (often 1,024) to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an unlimited hard limit: the kernel's cap still applies
            pass


def post_fork(server, worker):
    """Make psycopg2 cooperative so a slow query does not stall the other greenlets."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def post_worker_init(worker):
    """When this worker is told to stop, close its WebSockets with 1012 so clients come back.

    Without Redis, also start this process's job runner and periodic sweeper. Then set the
    loaded application aside from the garbage collector (`gc.freeze`): a full collection
    walked all of it, 65-107 ms during which every request of the worker stood still, and
    that pause was the p99 of a confirmation (bench/results.py); without it, 5-7 ms.
    """
    import gc
    import threading
    import time

    from app.jobs.sweeper import start_in_process

    start_in_process(worker.wsgi)

    def close_sockets_on_stop():
        while worker.alive:
            time.sleep(0.2)
        from app.realtime.hub import shutdown_all

        shutdown_all()

    threading.Thread(target=close_sockets_on_stop, name="realtime-shutdown", daemon=True).start()
    gc.freeze()


def worker_int(worker):
    """Quick shutdown (SIGINT/SIGQUIT): still tell WebSocket clients to reconnect."""
    from app.realtime.hub import shutdown_all

    shutdown_all()

