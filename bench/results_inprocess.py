"""Where a result's time goes, in process: CPU and SQL statements per report and confirm.

Run: .venv/bin/python bench/results_inprocess.py [--matches 120] [--check-in] [--profile]
     [--sql] [--database sqlite|postgresql]

The set-up of bench/results.py (a fresh SQLite file, or PostgreSQL database: --database, a
LIVE 256-entrant double elimination without per-match check-in, or with it: --check-in),
then the same POSTs as its clients
(multipart report with the CSRF token and the match version, then confirm) through the
Flask test client: no HTTP, no gunicorn, one thread. Prints the median CPU time (this
thread's, so other work on the machine inflates it less than wall time) and the SQL
statements of each kind of POST, and of the floor: a signed-in POST that runs one UPDATE
(/me/notifications/read). --profile: cProfile of report + confirm, summed by package, and
Python function calls per request (a count that does not depend on the machine's load).
--sql: the statements of one match.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench import results as bench  # noqa: E402

HEADERS = {"User-Agent": bench.USER_AGENT, "Origin": "http://localhost"}
ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}  # the address the sessions were signed for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=120)
    parser.add_argument("--check-in", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance, bench.database(args.database, instance) as db:
        field = bench.prepare(db, instance, 256, args.check_in)
        run(db, instance, field, args)


def run(db: bench.Database, instance: str, field: bench.Field, args: argparse.Namespace) -> None:
    from app import create_app
    from app.extensions import db as sa

    app = create_app({"SQLALCHEMY_DATABASE_URI": db.url, "INSTANCE_DIR": instance,
                      "SECRET_KEY": bench.SECRET_KEY, "REDIS_URL": None,
                      "JOBS_BACKEND": "inprocess", "RATELIMIT_STORAGE_URI": "memory://",
                      "SWEEP_SECONDS": 0})
    seen = {"count": 0, "show": False}

    def statement(_conn, _cursor, sql, _params, _context, many) -> None:
        seen["count"] += 1
        if seen["show"]:
            print("   ", " ".join(sql.split())[:150], "(many)" if many else "")

    with app.app_context():
        event.listen(sa.engine, "before_cursor_execute", statement)
    client = app.test_client(use_cookies=False)
    cpu: dict[str, list[float]] = collections.defaultdict(list)
    statements: dict[str, list[int]] = collections.defaultdict(list)
    profile = cProfile.Profile()
    tokens: dict[int, str] = {}

    def post(kind: str, path: str, player: bench.Player, data: dict) -> None:
        if player.user_id not in tokens:  # the player's page once: its session's CSRF token
            page = client.get(path.rsplit("/", 1)[0], headers={**HEADERS, "Cookie": player.cookie},
                              environ_base=ENVIRON)
            bench.Browser._cookie(player, {k.lower(): v for k, v in page.headers.items()})
            tokens[player.user_id] = bench.CSRF_RE.search(page.get_data(as_text=True)).group(1)
        seen["count"] = 0
        timed = kind != "check-in" and args.profile
        if timed:
            profile.enable()
        start = time.thread_time()
        response = client.post(path, data={"csrf_token": tokens[player.user_id], **data},
                               headers={**HEADERS, "Cookie": player.cookie},
                               environ_base=ENVIRON,
                               content_type="multipart/form-data" if kind == "report" else None)
        cpu[kind].append(time.thread_time() - start)
        if timed:
            profile.disable()
        statements[kind].append(seen["count"])
        if response.status_code != 303:
            raise RuntimeError(f"{kind} {path}: {response.status_code}")

    reader, mark = db.connect(), db.param

    def query(sql: str, *params: object) -> list[tuple]:
        cursor = reader.cursor()
        cursor.execute(sql.replace("?", mark), params)
        return cursor.fetchall()

    done = 0
    while done < args.matches:
        rows = query(
            "SELECT id, seed_a, seed_b FROM matches WHERE bracket_id = ? AND state IN "
            "('SCHEDULED', 'CHECK_IN', 'READY') AND seed_a > 0 AND seed_b > 0 ORDER BY number",
            field.bracket_id)
        for match_id, seed_a, seed_b in rows:
            a, b = field.players[seed_a], field.players[seed_b]
            steps = [("check-in", a, {}), ("check-in", b, {})] if args.check_in else []
            steps += [("report", a, {"game-1-a": "1", "game-1-b": "0", "links": ""}),
                      ("confirm", b, {})]
            for kind, player, data in steps:
                seen["show"] = args.sql and done == 20
                if seen["show"]:
                    print(f"-- {kind}")
                version = query("SELECT version FROM matches WHERE id = ?", match_id)[0][0]
                post(kind, f"/t/{bench.SLUG}/m/{match_id}/{kind}", player,
                     {"version": str(version), **data})
            seen["show"] = False
            done += 1
            if done >= args.matches:
                break
    player = field.players[1]
    for _ in range(150):
        start = time.thread_time()
        client.post("/me/notifications/read", data={"csrf_token": tokens[player.user_id],
                                                    "version": "1"},
                    headers={**HEADERS, "Cookie": player.cookie}, environ_base=ENVIRON)
        cpu["floor"].append(time.thread_time() - start)
    for kind, values in cpu.items():
        values = sorted(values)
        counts = sorted(statements.get(kind, [0]))
        print(f"{kind:<9} CPU median {values[len(values) // 2] * 1000:5.2f} ms"
              + (f", {counts[len(counts) // 2]} SQL statements" if kind in statements else ""))
    if args.profile:
        summary(pstats.Stats(profile), len(cpu["report"]) + len(cpu["confirm"]))


def summary(stats: pstats.Stats, requests: int) -> None:
    """Time by package (profiled, so inflated), and function calls per request."""
    by_package: collections.Counter = collections.Counter()
    for (file, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        if "site-packages/" in file:
            key = file.split("site-packages/")[1].split("/")[0]
        elif "/app/" in file:
            key = "app (Bracketeer)"
        else:
            key = "builtins and stdlib"
        by_package[key] += own
    total = sum(by_package.values())
    for key, own in by_package.most_common(10):
        print(f"  {key:<24} {own / total * 100:3.0f}%")
    print(f"Python function calls per report or confirm: {stats.total_calls / requests:.0f}")


if __name__ == "__main__":
    main()
