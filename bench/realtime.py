"""Realtime fan-out: C spectator sockets on a tournament page, real confirmations, vs asyncio.

Run: .venv/bin/python bench/realtime.py [--counts 1000,2000,5000,10000]
     [--setups sqlite,postgresql] [--events 6] [--client-processes 4] [--max-minutes 40]

Setups: one gunicorn gevent process on SQLite; two processes on PostgreSQL with Redis
(redis://127.0.0.1:6379/13) waking both hubs. Each starts on a fresh database with a LIVE
16-entrant double elimination (bench/results.py `prepare`: player sessions are cookies
signed with the server's key) and a real server (`server`, production config), with
WS_MAX_CONNECTIONS_PER_IP raised, WORKER_CONNECTIONS above C and REALTIME_STATS_DIR set: the
hubs then write their fan-out timings (app/realtime/stats.py) to files the bench reads.

For each C: the spectator processes (bench/realtime_clients.py, asyncio `websockets`
clients, one loopback source address each) open C sockets to the page's socket URL
(`/ws?room=bracket:<id>&since=<seq>`, read from the bracket page — where spectators watch —
with the page's Origin); the server's RSS is read before and with the sockets open (memory
per spectator: the difference over C). Then, for each of E matches, the two players check in
and one reports through HTTP (CSRF token, match version, as the forms do), and after a pause
the other confirms: the clock starts when the confirm's response returns (the commit is
before it, so the figures are slightly optimistic by the response's transmission time); a
delivery is the first message whose marker is the match_completed event's sequence number.
Meanwhile one client GETs /t/<slug> and /healthz in turn every 10 ms (ordinary requests; the
page's p50 is also taken without sockets just before).
A spectator that never receives an event's marker is a lost update.

The reference, in the same run: a pure-asyncio `websockets` server in its own process,
the same spectator clients, C sockets, E broadcasts of the bytes the real server sent (the
last bracket fragment), fan-out timed from the broadcast call to the last transport drained,
delivery from the broadcast call.

Everything runs on 127.0.0.1 (sources 127.0.0.2..); each phase has a timeout and the whole run
stops itself after --max-minutes. Prints a row per setup and C, then a line per goal.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results  # noqa: E402  (after the path)
from bench.realtime_clients import raise_open_files, reference_process, spectator_process  # noqa: E402
from bench.realtime_report import HEADER, goals, row  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/13"
ENTRANTS = 16
CONNECT_RATE = 20.0  # connections per second at least, else the phase gives up
DELIVERY_TIMEOUT = 20.0
SOCKET_RE = re.compile(r'hx-ws:connect="([^"]+)"')
SETUPS = {"sqlite": ("sqlite", 1), "postgresql": ("postgresql", 2)}


# --- spectator processes -------------------------------------------------------------------


def connect_timeout(count: int) -> float:
    return max(60.0, count / CONNECT_RATE)


class Clients:
    """The spectator processes, driven over pipes (every command goes to all of them)."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for _ in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=spectator_process, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def call(self, command: str, *per_process_args, timeout: float = 60.0, same=()) -> list:
        for i, pipe in enumerate(self.pipes):
            args = per_process_args[i] if per_process_args else same
            pipe.send((command, *args))
        answers = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError(f"spectator process did not answer {command!r}")
            answers.append(pipe.recv())
        return answers

    def connect(self, url: str, origin: str, count: int) -> dict:
        n = len(self.pipes)
        shares = [count // n + (1 if i < count % n else 0) for i in range(n)]
        timeout = connect_timeout(count)
        answers = self.call("connect", *[(url, origin, shares[i], f"127.0.0.{2 + i}", timeout)
                                         for i in range(n)], timeout=timeout + 30)
        return {"connected": sum(a["connected"] for a in answers),
                "errors": sum(a["errors"] for a in answers),
                "sample": [e for a in answers for e in a["error_sample"]][:3],
                "seconds": max(a["seconds"] for a in answers)}

    def wait_for(self, seq: int, expected: int, timeout: float = DELIVERY_TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while True:
            got = sum(self.call("count", same=(seq,)))
            if got >= expected or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def collect(self, seqs: list[int]) -> dict:
        answers = self.call("collect", same=(seqs,), timeout=120)
        return {"arrivals": {q: [t for a in answers for t in a["arrivals"][q]] for q in seqs},
                "missing": sum(n for a in answers for n in a["missing"].values()),
                "closed": sum(a["closed"] for a in answers),
                "sample": next((a["sample"] for a in answers if a["sample"]), "")}

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("quit",))
            except OSError:
                pass
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


# --- the server side -------------------------------------------------------------------------


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def open_files(pids: list[int]) -> int:
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids)


def fanout(stats_dir: Path, seq: int) -> tuple[float, float, int, int] | None:
    """(fan-out ms: the slowest process, render ms, sockets, frame bytes) of event `seq`."""
    rows = []
    for path in stats_dir.glob("*.json"):
        try:
            row = json.loads(path.read_text()).get(str(seq))
        except (OSError, ValueError):
            continue
        if row:
            rows.append(row)
    if not rows:
        return None
    return (max((r[2] - r[0]) * 1000 for r in rows), max(r[5] for r in rows) * 1000,
            sum(r[3] for r in rows), max(r[4] for r in rows))


class Pages:
    """Ordinary requests during the run: GET `path` every 20 ms on one keep-alive connection."""

    def __init__(self, address: str, path: str) -> None:
        self.address, self.path = address, path
        self.latencies: list[float] = []
        self.health: list[float] = []  # /healthz, every other request: the floor of a request
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Pages:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        host, port = self.address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        turn = 0
        while not self._stop.wait(0.01):
            turn += 1
            path, into = (self.path, self.latencies) if turn % 2 else ("/healthz", self.health)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"User-Agent": results.USER_AGENT})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            if ok:
                into.append(time.perf_counter() - started)
            else:
                self.errors += 1


class Play:
    """Drives matches through the player forms over HTTP (one keep-alive connection)."""

    def __init__(self, address: str, db: results.Database, field_: results.Field) -> None:
        self.stats, self.lock = results.Stats(), threading.Lock()
        self.browser = results.Browser(address, False, self.stats, self.lock)
        self.db, self.field = db, field_
        self.reader = db.connect()
        self.p = db.param
        self.warm = False

    def _one(self, sql: str, *args):
        cursor = self.reader.cursor()
        cursor.execute(sql, args)
        return cursor.fetchone()

    def version(self, match_id: int) -> int:
        return self._one(f"SELECT version FROM matches WHERE id = {self.p}", match_id)[0]

    def post(self, kind: str, match_id: int, player: results.Player, **fields: str) -> None:
        if not player.csrf:
            html = self.browser.page(f"/t/{results.SLUG}/m/{match_id}", player).decode()
            player.csrf = results.CSRF_RE.search(html).group(1)
        status, _ = self.browser.post(kind, f"/t/{results.SLUG}/m/{match_id}/{kind}", player,
                                      {"version": str(self.version(match_id)), **fields},
                                      multipart=kind == "report")
        if status != 303:
            raise RuntimeError(f"{kind} of match {match_id}: HTTP {status}")

    def next_match(self) -> tuple[int, int, int]:
        row = self._one(
            "SELECT id, seed_a, seed_b FROM matches WHERE bracket_id = " + self.p +
            " AND state IN ('SCHEDULED', 'CHECK_IN') AND seed_a > 0 AND seed_b > 0"
            " ORDER BY number LIMIT 1", self.field.bracket_id)
        if row is None:
            raise RuntimeError("no playable match left: use fewer --events")
        return row

    def prepare_match(self) -> tuple[int, results.Player]:
        """Check both sides in and report A 1-0; returns the match and the confirming player."""
        match_id, seed_a, seed_b = self.next_match()
        a, b = self.field.players[seed_a], self.field.players[seed_b]
        self.post("check-in", match_id, a)
        self.post("check-in", match_id, b)
        self.post("report", match_id, a, **{"game-1-a": "1", "game-1-b": "0", "links": ""})
        return match_id, b

    def confirm(self, match_id: int, player: results.Player) -> tuple[float, int]:
        """Confirm; (when the response returned, the match_completed event's sequence)."""
        self.post("confirm", match_id, player)
        returned = time.monotonic()
        seq = self._one("SELECT max(id) FROM outbox_events WHERE tournament_id = " + self.p +
                        " AND type = 'match_completed'", self.field.tournament_id)[0]
        return returned, seq


def server_phase(clients: Clients, address: str, pids: list[int], play: Play, stats_dir: Path,
                 count: int, events: int) -> dict:
    page = play.browser.page(f"/t/{results.SLUG}/bracket", results.Player(0, ""))
    url = "ws://" + address + SOCKET_RE.search(page.decode()).group(1).replace("&amp;", "&")
    if not play.warm:  # the hub starts with the first socket: not part of per-socket memory
        clients.connect(url, f"http://{address}", 8)
        clients.call("close")
        play.warm = True
    with Pages(address, f"/t/{results.SLUG}") as quiet:
        time.sleep(2.0)
    idle = rss_kb(pids)
    files_idle = open_files(pids)
    connected = clients.connect(url, f"http://{address}", count)
    time.sleep(1.0)
    loaded = rss_kb(pids)
    sent: list[tuple[float, int]] = []
    with Pages(address, f"/t/{results.SLUG}") as pages:
        for _ in range(events):
            match_id, confirmer = play.prepare_match()
            time.sleep(0.4)  # the check-ins' and report's fragments are out (coalesced)
            returned, seq = play.confirm(match_id, confirmer)
            clients.wait_for(seq, connected["connected"])
            sent.append((returned, seq))
            time.sleep(0.2)
    got = clients.collect([seq for _, seq in sent])
    closed = clients.call("close", timeout=120)
    _wait_files(pids, files_idle)
    delays = [(t - returned) * 1000 for returned, seq in sent for t in got["arrivals"][seq]]
    lasts = [(max(got["arrivals"][seq]) - returned) * 1000
             for returned, seq in sent if got["arrivals"][seq]]
    fans = [f for _, seq in sent if (f := fanout(stats_dir, seq))]
    return {"count": count, **connected, "delays": delays, "lasts": lasts,
            "fanout": [f[0] for f in fans], "render": [f[1] for f in fans],
            "sockets": [f[2] for f in fans], "bytes": max((f[3] for f in fans), default=0),
            "per_spectator_kb": (loaded - idle) / max(connected["connected"], 1),
            "pages": pages.latencies, "page_errors": pages.errors, "quiet": quiet.latencies,
            "health": pages.health,
            "lost": got["missing"], "closed_early": got["closed"], "sample": got["sample"],
            "closed": sum(closed)}


def _wait_files(pids: list[int], idle: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while open_files(pids) > idle + 20 and time.monotonic() < deadline:
        time.sleep(0.5)


def reference_phase(clients: Clients, count: int, events: int, sample: str) -> dict:
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=reference_process, args=(theirs,), daemon=True)
    process.start()
    try:
        if not mine.poll(30):
            raise TimeoutError("the reference server did not start")
        port = mine.recv()
        connected = clients.connect(f"ws://127.0.0.1:{port}/", f"http://127.0.0.1:{port}",
                                    count)
        body = re.sub(r'^<template data-live-seq="\d+"></template>', "", sample)
        sent, fans = [], []
        for seq in range(1, events + 1):
            mine.send(("broadcast", f'<template data-live-seq="{seq}"></template>{body}'))
            if not mine.poll(DELIVERY_TIMEOUT):
                raise TimeoutError("the reference server did not broadcast")
            started, done, _ = mine.recv()
            clients.wait_for(seq, connected["connected"])
            sent.append((started, seq))
            fans.append((done - started) * 1000)
            time.sleep(0.2)
        got = clients.collect([seq for _, seq in sent])
        clients.call("close", timeout=120)
        mine.send(("quit",))
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    delays = [(t - started) * 1000 for started, seq in sent for t in got["arrivals"][seq]]
    lasts = [(max(got["arrivals"][seq]) - started) * 1000 for started, seq in sent
             if got["arrivals"][seq]]
    return {"count": count, **connected, "delays": delays, "lasts": lasts, "fanout": fans,
            "lost": got["missing"], "bytes": len(body.encode()) + 40}


# --- main -----------------------------------------------------------------------------------


def run_setup(kind: str, workers: int, counts: list[int], events: int,
              clients: Clients) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as instance, results.database(kind, instance) as db:
        if db.redis_url:
            db = dataclasses.replace(db, redis_url=REDIS_URL)
        field_ = results.prepare(db, instance, ENTRANTS, checkin=True)
        stats_dir = Path(instance) / "stats"
        stats_dir.mkdir()
        os.environ.update(REALTIME_STATS_DIR=str(stats_dir), WS_MAX_CONNECTIONS_PER_IP="100000",
                          WS_ROOM_CAPACITY=str(max(counts) + 2000),
                          WORKER_CONNECTIONS=str(max(counts) + 2000))
        log = Path(instance) / "server.log"
        jobs = results._scheduled_jobs(db.redis_url)
        try:
            with results.server(db, instance, workers, log) as (address, master):
                pids = results.worker_pids(master)
                play = Play(address, db, field_)
                for count in counts:
                    result = server_phase(clients, address, pids, play, stats_dir, count,
                                          events)
                    print(row(f"{db.label} ({workers} proc)", result), flush=True)
                    rows.append(result)
                    if result["connected"] < count:
                        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                        print("  connect errors:", result["sample"], "server log:", tail)
        finally:
            results._drop_new_jobs(db.redis_url, jobs)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,2000,5000,10000")
    parser.add_argument("--setups", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=6, help="confirmations per C")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--no-reference", dest="reference", action="store_false")
    parser.add_argument("--max-minutes", type=float, default=40.0)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if any(s not in SETUPS for s in setups):
        sys.exit(f"--setups: some of {', '.join(SETUPS)}")

    def out_of_time(*_) -> None:
        raise SystemExit("bench/realtime.py: --max-minutes reached, stopping")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.max_minutes * 60))
    limit = raise_open_files()  # inherited by the server; each spectator process raises its own
    print(f"spectators: {args.client_processes} asyncio websockets processes; {args.events} "
          f"confirmations per C; open-files limit {limit}; {os.cpu_count()} cores, load "
          f"{_load()} (other work on the machine makes every figure pessimistic)")
    print("delivery: confirm response returned -> spectator got the match_completed marker "
          "(reference: broadcast call -> arrival); last: the slowest spectator per event; "
          "fan-out: hub starts handing out the frame (after rendering) -> last socket send; "
          "page: GET /t/<slug> every 20 ms during the confirmations (idle: its p50 without "
          "sockets, just before), healthz: GET /healthz p50, in between; KB/spect: (RSS with "
          "the C sockets open - RSS before) / C")
    print()
    print(HEADER)
    print("-" * len(HEADER))
    clients = Clients(args.client_processes)
    measured: list[tuple[str, int, dict]] = []
    reference: dict[int, dict] = {}
    try:
        for setup in setups:
            kind, workers = SETUPS[setup]
            if kind == "postgresql" and not results.postgres_reachable():
                print("PostgreSQL at 127.0.0.1:5432 does not answer: not measured")
                continue
            for r in run_setup(kind, workers, counts, args.events, clients):
                measured.append((setup, workers, r))
        sample = next((r["sample"] for _, _, r in measured if r["sample"]), "")
        if args.reference and sample:
            for count in counts:
                reference[count] = reference_phase(clients, count, args.events, sample)
                print(row("asyncio reference", reference[count]), flush=True)
    finally:
        clients.stop()
    print(f"(load average at the end {_load()})")
    for line in goals(measured, reference):
        print(line)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
