"""Ordinary HTTP latency of the public pages under concurrent load.

Run: .venv/bin/python bench/pages.py [--requests 2000] [--concurrency 16]
Starts a real gunicorn (gevent) server on SQLite, then on PostgreSQL when
reachable, loads the demo, and hammers the front page, a tournament page and
the JSON API from client threads. Prints requests/s and p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import running_server  # noqa: E402

PATHS = ["/", "/t/demo-cup", "/api/tournaments", "/healthz"]
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def hammer(base: str, path: str, total: int, concurrency: int) -> dict:
    parts = urlsplit(base)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = total // concurrency

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                with lock:
                    errors += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max": latencies[-1] * 1000,
        "errors": errors,
    }


def postgres_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_URL, connect_timeout=2).close()
        return True
    except Exception:  # noqa: BLE001
        return False


def fresh_pg_database() -> str:
    import psycopg2

    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "bracketeer_bench" WITH (FORCE)')
        cur.execute('CREATE DATABASE "bracketeer_bench"')
    conn.close()
    return PG_URL.rsplit("/", 1)[0] + "/bracketeer_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    backends = [("SQLite", None)]
    if postgres_reachable():
        backends.append(("PostgreSQL", fresh_pg_database()))
    print(f"{args.requests} GETs per path, {args.concurrency} concurrent keep-alive clients, "
          "1 gunicorn gevent process")
    print(f"{'database':<11} {'path':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>6}")
    for name, url in backends:
        with running_server(url) as base:
            hammer(base, "/", 200, 4)  # warm up
            for path in PATHS:
                r = hammer(base, path, args.requests, args.concurrency)
                print(f"{name:<11} {path:<18} {r['rps']:>8.0f} {r['p50']:>8.2f} "
                      f"{r['p99']:>8.2f} {r['max']:>8.2f} {r['errors']:>6}")


if __name__ == "__main__":
    main()
