"""Bracket engine speed against the reference, brackets-manager.js 1.11 on brackets-memory-db.

Run: .venv/bin/python bench/brackets.py [--sizes 64,256,1024,4096] [--repeat 5] [--min-ms 300]
     [--warmup-ms 300] [--formats single_elimination,double_elimination]
     [--results higher-seed|random] [--rng-seed 1]

For every size N and format it builds a bracket of N seeded entrants and plays every match
until there is a champion, first with our engine (app.brackets, in this process), then with
the reference in one node process per case (bench/reference_brackets.mjs, timed inside node
with performance.now(), so node start-up is not counted). Both sides use the same winner rule:
the higher seed (smaller number) wins, or a coin per (pair, meeting) from a 32-bit hash of
--rng-seed. Each side first does untimed warm-up runs of min(N, 256) entrants (at least one,
more while they add up to under --warmup-ms, so node's JIT is as warm for small N as for large),
then at least --repeat timed runs, more while they add up to under --min-ms (at most 50), so
that fast cases get enough runs for a stable median; the table shows the medians. The reference
is installed with npm into bench/.node/ (git-ignored) on the first run. Also prints
generate-and-persist timings for 1024-entrant double elimination on SQLite and PostgreSQL
(bench/generation.py, through the app's generation service).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NODE_DIR = ROOT / "bench" / ".node"
REFERENCE_SCRIPT = ROOT / "bench" / "reference_brackets.mjs"
REFERENCE_PACKAGES = {"brackets-manager": "1.11.1", "brackets-memory-db": "1.0.6"}
FORMATS = ("single_elimination", "double_elimination")
SIZES = (64, 256, 1024, 4096)
WARMUP_ENTRANTS = 256
GOAL_RATIO = 10.0
GOAL_FROM = 256
MAX_RUNS = 50

Winner = Callable[[int, int], int]
"""Given the seeds of the two entrants of a match, the seed of its winner."""


@dataclass
class Played:
    """What one run did: finished?, matches played, grand final reset?, the champion's seed."""

    complete: bool
    played: int
    reset: bool
    champion_seed: int | None


# ---------------------------------------------------------------------------------------------
# The winner rule, identical to winnerSeed() in bench/reference_brackets.mjs.
# ---------------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF


def _mix(x: int) -> int:
    """32-bit integer hash ("lowbias32"); the same bits as mix() in the node script."""
    x &= _M32
    x = ((x ^ (x >> 16)) * 0x7FEB352D) & _M32
    x = ((x ^ (x >> 15)) * 0x846CA68B) & _M32
    return x ^ (x >> 16)


def winner_rule(results: str, rng_seed: int) -> Winner:
    """A winner function: smaller seed wins, or a coin per (rng seed, pair, meeting number)."""
    if results == "higher-seed":
        return min
    meetings: dict[tuple[int, int], int] = {}
    rng = rng_seed & _M32

    def coin(a: int, b: int) -> int:
        lo, hi = (a, b) if a < b else (b, a)
        meeting = meetings.get((lo, hi), 0)
        meetings[(lo, hi)] = meeting + 1
        h = _mix(((_mix(rng ^ ((lo * 0x9E3779B1) & _M32)) ^ hi) + meeting) & _M32)
        return lo if h & 1 else hi

    return coin


# ---------------------------------------------------------------------------------------------
# ENGINE ADAPTER — the one place that knows the app.brackets API.
# ---------------------------------------------------------------------------------------------


def build_and_play(fmt: str, entrants: int, winner: Winner) -> object:
    """Build a bracket of seeds 1..`entrants` with app.brackets and play every match (timed)."""
    from app.brackets import build
    from app.brackets.simulate import play_out

    # grand final "reset" is the engine's name for brackets-manager's grand final "double".
    options = {"grand_final": "reset"} if fmt == "double_elimination" else {}
    return play_out(build(fmt, entrants, **options), winner)


def summarise(play: object) -> Played:
    """What a finished `build_and_play` did, read from the engine's state (not timed)."""
    from app.brackets.model import Side
    from app.brackets.play import Outcome, Play, Status
    from app.brackets.standings import standings

    assert isinstance(play, Play)
    played = sum(1 for state in play.states if state.outcome == Outcome.PLAYED)
    reset = any(m.side == Side.GRAND_FINAL and m.reset_of is not None
                and play.states[m.id].status == Status.COMPLETED for m in play.matches)
    first = standings(play)[0]
    champion = first.seeds[0] if len(first.seeds) == 1 else None
    return Played(play.finished(), played, reset, champion)


# ---------------------------------------------------------------------------------------------
# Reference (node)
# ---------------------------------------------------------------------------------------------


def ensure_reference() -> str:
    """Install the reference into bench/.node/ when missing; return the node version."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: the reference side needs Node.js and npm")
    if not all(_installed(name) == version for name, version in REFERENCE_PACKAGES.items()):
        print("installing the reference into bench/.node/ (npm) ...", flush=True)
        specs = [f"{name}@{version}" for name, version in REFERENCE_PACKAGES.items()]
        done = subprocess.run(
            ["npm", "install", "--prefix", str(NODE_DIR), "--save-exact", "--no-audit",
             "--no-fund", "--loglevel=error", *specs],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"npm install failed:\n{done.stdout}{done.stderr}")
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def _installed(name: str) -> str | None:
    manifest = NODE_DIR / "node_modules" / name / "package.json"
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text())["version"]


def run_reference(fmt: str, entrants: int, args: argparse.Namespace) -> dict:
    """Run the reference for one case in one node process; return its JSON report."""
    done = subprocess.run(
        ["node", str(REFERENCE_SCRIPT), "--format", fmt, "--entrants", str(entrants),
         "--repeat", str(args.repeat), "--min-ms", str(args.min_ms),
         "--max-runs", str(MAX_RUNS), "--warmup", str(WARMUP_ENTRANTS),
         "--warmup-ms", str(args.warmup_ms), "--results", args.results,
         "--rng-seed", str(args.rng_seed), "--modules", str(NODE_DIR)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"reference failed for {fmt} N={entrants}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Engine timing
# ---------------------------------------------------------------------------------------------


def run_engine(fmt: str, entrants: int, args: argparse.Namespace) -> dict:
    """Time build-and-play runs of our engine after untimed warm-ups (the node script's rule)."""
    rule = (args.results, args.rng_seed)
    timed_runs(fmt, min(entrants, WARMUP_ENTRANTS), 1, args.warmup_ms, *rule)
    times, runs = timed_runs(fmt, entrants, args.repeat, args.min_ms, *rule)
    return {
        "times_ms": times,
        "complete": all(r.complete for r in runs),
        "played": [r.played for r in runs],
        "reset": runs[-1].reset,
        "champion_seed": runs[-1].champion_seed,
    }


def timed_runs(fmt: str, entrants: int, least: int, min_ms: float, results: str,
               rng_seed: int) -> tuple[list[float], list[Played]]:
    """At least `least` runs, more while they add up to under `min_ms` (at most MAX_RUNS)."""
    times: list[float] = []
    runs: list[Played] = []
    while len(times) < least or (sum(times) < min_ms and len(times) < MAX_RUNS):
        winner = winner_rule(results, rng_seed)
        started = time.perf_counter()
        play = build_and_play(fmt, entrants, winner)
        times.append((time.perf_counter() - started) * 1000)
        runs.append(summarise(play))
    return times, runs


def expected_matches(fmt: str, entrants: int, reset: bool) -> int:
    """Matches actually played (byes excluded) to finish a bracket of `entrants`."""
    if fmt == "single_elimination":
        return entrants - 1
    return 2 * entrants - 2 + (1 if reset else 0)


def check(side: dict, fmt: str, entrants: int, results: str) -> list[str]:
    """Problems with one side's runs: wrong match count, unfinished stage, wrong champion."""
    problems = []
    want = expected_matches(fmt, entrants, side["reset"])
    if any(p != want for p in side["played"]):
        problems.append(f"played {sorted(set(side['played']))} matches, expected {want}")
    if not side["complete"]:
        problems.append("the bracket did not finish")
    if results == "higher-seed" and side["champion_seed"] != 1:
        problems.append(f"champion is seed {side['champion_seed']}, expected 1")
    return problems


# ---------------------------------------------------------------------------------------------
# Generate and persist (app service)
# ---------------------------------------------------------------------------------------------


def generation_timings() -> str:
    """Generate and persist 1024-entrant double elimination on SQLite and on PostgreSQL.

    Each database runs in its own process (bench/generation.py); PostgreSQL is skipped with a
    note when BENCH_POSTGRES_URL (default: the local server's `postgres` database) does not
    answer.
    """
    import os

    lines = []
    postgres = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    for database in ("sqlite", postgres):
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "generation.py"),
                               "--database", database], capture_output=True, text=True)
        out = done.stdout.strip().splitlines()
        lines.append(out[-1] if done.returncode == 0 and out else
                     f"generation on {database}: failed ({done.stderr.strip().splitlines()[-1:]})")
    return "\n".join(lines) + "\n(goal: under 500 ms on either database)"


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--repeat", type=int, default=5, help="least timed runs per side")
    parser.add_argument("--min-ms", type=float, default=300,
                        help=f"more runs (up to {MAX_RUNS}) until the timed runs add up to this")
    parser.add_argument("--warmup-ms", type=float, default=300,
                        help="warm-up runs (N <= 256) until they add up to this; 0: one run")
    parser.add_argument("--results", choices=["higher-seed", "random"], default="higher-seed")
    parser.add_argument("--rng-seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    formats = args.formats.split(",")
    if any(n < 4 for n in sizes) or any(f not in FORMATS for f in formats):
        sys.exit(f"sizes must be at least 4; formats among {', '.join(FORMATS)}")

    node = ensure_reference()
    rule = "higher seed wins" if args.results == "higher-seed" else (
        f"seeded coin per pair and meeting (rng seed {args.rng_seed})")
    print(f"engine: app.brackets (Python {sys.version.split()[0]}); reference: brackets-manager "
          f"{REFERENCE_PACKAGES['brackets-manager']} + brackets-memory-db "
          f"{REFERENCE_PACKAGES['brackets-memory-db']} (node {node})")
    print(f"build and play out every match; {rule}; medians of {args.repeat} to {MAX_RUNS} "
          f"runs, after up to {args.warmup_ms:g} ms of warm-up runs")
    print()
    header = (f"{'N':>5}  {'format':<19} {'engine ms':>10} {'reference ms':>13} "
              f"{'speed-up':>9} {'matches e/r':>12} {'runs e/r':>9}")
    print(header)
    print("-" * len(header))
    rows, problems = [], []
    for n in sizes:
        for fmt in formats:
            row, found = measure(fmt, n, args)
            rows.append(row)
            problems += found
    print("(matches: played by the engine / the reference, byes excluded; runs: timed runs)")
    print()
    print(generation_timings())
    print()
    for problem in dict.fromkeys(problems):
        print(f"PROBLEM: {problem}")
    print(goals_line(rows))
    if problems:
        sys.exit(1)


def measure(fmt: str, n: int, args: argparse.Namespace) -> tuple[tuple, list[str]]:
    """Time one case on both sides, print its row; return (N, fmt, ms, ms, ratio) and problems."""
    problems = []
    try:
        engine = run_engine(fmt, n, args)
    except (ImportError, NotImplementedError) as missing:
        engine = None
        problems.append(f"engine not measured: {missing!r}")
    reference = run_reference(fmt, n, args)
    for name, side in (("engine", engine), ("reference", reference)):
        if side is not None:
            problems += [f"{name} {fmt} N={n}: {p}" for p in check(side, fmt, n, args.results)]
    ref_ms = statistics.median(reference["times_ms"])
    eng_ms = statistics.median(engine["times_ms"]) if engine else None
    ratio = ref_ms / eng_ms if eng_ms else None
    matches = f"{engine['played'][-1] if engine else '-'}/{reference['played'][-1]}"
    runs = f"{len(engine['times_ms']) if engine else '-'}/{len(reference['times_ms'])}"
    print(f"{n:>5}  {fmt.replace('_', ' '):<19} {_fmt(eng_ms, '.2f'):>10} {ref_ms:>13.1f} "
          f"{_fmt(ratio, '.1f', '×'):>9} {matches:>12} {runs:>9}", flush=True)
    return (n, fmt, eng_ms, ref_ms, ratio), problems


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def goals_line(rows: list[tuple[int, str, float | None, float, float | None]]) -> str:
    """One line: is the engine ≥ 10× the reference for N ≥ 256 and faster at every N?"""
    if any(ratio is None for *_, ratio in rows):
        return "goals: not measured (the engine did not run)"
    slow = [f"N={n} {fmt}: {ratio:.1f}×" for n, fmt, _, _, ratio in rows
            if ratio < 1 or (n >= GOAL_FROM and ratio < GOAL_RATIO)]
    big = [ratio for n, _, _, _, ratio in rows if n >= GOAL_FROM]
    least = f"least speed-up {min(big):.1f}× for N ≥ {GOAL_FROM}" if big else ""
    verdict = "MET" if not slow else "NOT MET (" + "; ".join(slow) + ")"
    return (f"goals (≥ {GOAL_RATIO:.0f}× the reference for N ≥ {GOAL_FROM}, faster at every N): "
            f"{verdict}; least speed-up overall {min(r[4] for r in rows):.1f}×"
            + (f", {least}" if least else ""))


if __name__ == "__main__":
    main()
