"""Server time of the public bracket page of a 256-entrant double elimination, part played.

Run: .venv/bin/python bench/bracket_page.py [--entrants 256] [--requests 40]
     [--database sqlite|postgresql://...]      (make bench-bracket-page)

Builds a fresh schema (a temporary SQLite file, or a scratch PostgreSQL database), generates
and finalizes the bracket through the services, plays the first winners and losers rounds and
half of winners round 2 (the engine's progression, written back as `match_progression` does),
then times, in the server process, N requests of the full page through the Flask test client
and N renders of the live fragments of one result (its card and the standings, as the hub
renders them once per room) and of the whole bracket region. Prints median / p99 / max and
the goal: the full page in under 150 ms of server time (issue 6).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generation import _fill, scratch_database  # noqa: E402

GOAL_MS = 150.0
SCRATCH_DB = "bracketeer_bench_bracket_page"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--entrants", type=int, default=256)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        url, cleanup = scratch_database(args.database, instance, SCRATCH_DB)
        try:
            run(url, instance, args)
        finally:
            cleanup()


def run(url: str, instance: str, args: argparse.Namespace) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": instance,
                      "SECRET_KEY": "bench", "REDIS_URL": None, "JOBS_BACKEND": "inprocess",
                      "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})
    logging.disable(logging.INFO)  # the migrations' progress lines
    with app.app_context():
        upgrade()
        slug, tournament_id, match_id, matches, played = _bracket(args.entrants)
        db.session.remove()
    logging.disable(logging.NOTSET)
    label = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"{args.entrants}-entrant double elimination on {label}: {matches} matches, "
          f"{played} played")
    client = app.test_client()
    page = _times(args.requests, lambda: _get(client, f"/t/{slug}/bracket"))
    size = len(client.get(f"/t/{slug}/bracket").data)
    card = _times(args.requests, lambda: _fragment(app, "match_completed", tournament_id,
                                                   {"match_id": match_id}))
    region = _times(max(args.requests // 4, 5), lambda: _fragment(
        app, "bracket_updated", tournament_id, {}))
    _line("full page (GET, test client)", page, f"{size / 1024:.0f} KB")
    _line("live fragment: one result (card + standings)", card,
          f"{len(_fragment(app, 'match_completed', tournament_id, {'match_id': match_id})):,} B")
    _line("live fragment: whole bracket region", region, "(bracket_generated/updated)")
    verdict = "met" if statistics.median(page) < GOAL_MS else "NOT met"
    print(f"goal: full page < {GOAL_MS:.0f} ms of server time (median) — {verdict}")
    with app.app_context():
        db.engine.dispose()  # so that a scratch PostgreSQL database can be dropped


def _get(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.status_code


def _fragment(app, event_type: str, tournament_id: int, payload: dict) -> str:
    from app.realtime import fragments
    from app.realtime.feed import Event

    room = f"bracket:{tournament_id}"
    with fragments.render_context(app):  # the bracket page room's fragment only (not the match's)
        pushed = fragments.render(Event(1, event_type, tournament_id, payload),
                                  wanted=lambda name: name == room)
    return pushed[room]


def _times(n: int, fn) -> list[float]:
    fn()  # warm: templates compiled, structure cached
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _line(what: str, times: list[float], extra: str) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"  {what:<46} median {statistics.median(times):6.1f} ms  p99 {p99:6.1f} ms  "
          f"max {ordered[-1]:6.1f} ms  ({len(times)} runs) {extra}")


def _bracket(entrants: int) -> tuple[str, int, int, int, int]:
    """A finalized, public, live bracket with its first rounds played; returns the slug, the
    tournament id, the id of a completed winners-round-2 match, matches and matches played."""
    from sqlalchemy import select, update

    from app.database import write_intent
    from app.extensions import db
    from app.models import Match, MatchState, Status, Visibility
    from app.services import bracket_rows, brackets

    tournament, organizer = _fill(entrants, "double_elimination")
    with write_intent():
        tournament.visibility = Visibility.PUBLIC
        bracket = brackets.generate(organizer, tournament, brackets.Options(), 0)
        db.session.commit()
        brackets.finalize(organizer, tournament, brackets.version_of(tournament))
        tournament.status = Status.LIVE
        db.session.commit()
    with write_intent():
        _, play = bracket_rows.load_play(bracket)
        plan = [("winners", 1, 1.0), ("losers", 1, 1.0), ("winners", 2, 0.5)]
        touched: set[int] = set()
        last = None
        for side, round_, share in plan:
            ready = [m for m in play.matches if m.side == side and m.round == round_
                     and play.states[m.id].status.value == "ready"]
            for match in ready[:int(len(ready) * share)]:
                best = min(play.states[match.id].slots)
                touched.update(play.record(match.id, best, (2, 1) if best ==
                                           play.states[match.id].slots[0] else (1, 2)))
                touched.add(match.id)
                last = match.id if side == "winners" and round_ == 2 else last
        bracket_rows.write_states(bracket, play, sorted(touched))
        done = [m.id for m in play.matches if play.states[m.id].status.value == "completed"]
        db.session.execute(update(Match).where(Match.bracket_id == bracket.id,
                                               Match.number.in_(done))
                           .values(state=MatchState.COMPLETED))
        db.session.commit()
        match_id = db.session.scalar(select(Match.id).where(
            Match.bracket_id == bracket.id, Match.number == last))
    return tournament.slug, tournament.id, match_id, len(play.matches), len(done)


if __name__ == "__main__":
    main()
