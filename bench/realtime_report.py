"""The table and the goal lines of bench/realtime.py."""

from __future__ import annotations

import math


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


HEADER = (f"{'setup':<22} {'C':>6} {'connected':>9} {'conn s':>7} "
          f"{'delivery p50/p99/max ms':>24} {'last p50/max':>13} {'fan-out p50/max':>16} "
          f"{'render':>7} {'KB/msg':>7} {'KB/spect':>8} {'page p50/p99':>13} {'idle':>5} "
          f"{'healthz':>7} {'lost':>5}")


def row(label: str, r: dict) -> str:
    d, f = r["delays"], r["fanout"]
    pages = [x * 1000 for x in r.get("pages", [])]
    http_ = f"{pct(pages, 0.5):.1f}/{pct(pages, 0.99):.1f}" if pages else "-"
    render = f"{pct(r['render'], 0.5):.1f}" if r.get("render") else "-"
    memory = f"{r['per_spectator_kb']:.1f}" if "per_spectator_kb" in r else "-"
    quiet = f"{pct(r['quiet'], .5) * 1000:.1f}" if r.get("quiet") else "-"
    health = f"{pct(r['health'], .5) * 1000:.1f}" if r.get("health") else "-"
    return (f"{label:<22} {r['count']:>6} {r['connected']:>9} {r['seconds']:>7.1f} "
            f"{pct(d, .5):>7.0f}/{pct(d, .99):>6.0f}/{pct(d, 1):>6.0f}    "
            f"{pct(r['lasts'], .5):>5.0f}/{pct(r['lasts'], 1):>5.0f}  "
            f"{pct(f, .5):>7.1f}/{pct(f, 1):>6.1f}  {render:>7} {r['bytes'] / 1024:>7.1f} "
            f"{memory:>8} {http_:>13} {quiet:>5} {health:>7} {r['lost']:>5}")


def goals(measured: list[tuple[str, int, dict]], reference: dict[int, dict]) -> list[str]:
    lines = []

    def goal(text: str, checked: list[tuple[str, bool]]) -> None:
        if not checked:
            lines.append(f"goal {text}: not measured")
            return
        missed = [what for what, ok in checked if not ok]
        lines.append(f"goal {text}: " + ("MET" if not missed else
                                         "NOT MET (" + "; ".join(missed) + ")"))

    def at(per_process: int) -> list[tuple[str, int, dict]]:
        return [(s, w, r) for s, w, r in measured if r["count"] // w == per_process]

    goal("2,000 spectators, delivery p99 <= 250 ms",
         [(f"{s} {pct(r['delays'], .99):.0f} ms", pct(r["delays"], .99) <= 250)
          for s, _, r in measured if r["count"] == 2000])
    goal("5,000 per process, delivery p99 <= 500 ms and server fan-out <= 150 ms",
         [(f"{s} C={r['count']}: p99 {pct(r['delays'], .99):.0f} ms, fan-out "
           f"{pct(r['fanout'], .5):.0f} ms", pct(r["delays"], .99) <= 500
           and pct(r["fanout"], .5) <= 150) for s, _, r in at(5000)])
    goal("10,000 per process connected and served",
         [(f"{s}: {r['connected']} connected, {r['lost']} lost",
           r["connected"] == r["count"] and r["lost"] == 0) for s, _, r in at(10000)])
    goal("<= 50 KB server memory per spectator",
         [(f"{s} C={r['count']}: {r['per_spectator_kb']:.0f} KB", r["per_spectator_kb"] <= 50)
          for s, _, r in measured])
    goal("ordinary requests p50 < 5 ms while sockets are open (the page; /healthz)",
         [(f"{s} C={r['count']}: {pct(r['pages'], .5) * 1000:.1f} ms (idle "
           f"{pct(r['quiet'], .5) * 1000:.1f}); {pct(r['health'], .5) * 1000:.1f} ms",
           pct(r["pages"], .5) * 1000 < 5) for s, _, r in measured])
    goal("server fan-out within 1.5x of the asyncio reference (one process, same C)",
         [(f"C={r['count']}: {pct(r['fanout'], .5):.0f} vs {pct(ref['fanout'], .5):.0f} ms",
           pct(r["fanout"], .5) <= 1.5 * pct(ref["fanout"], .5))
          for s, w, r in measured if w == 1 and (ref := reference.get(r["count"]))])
    goal("zero lost updates",
         [(f"{s} C={r['count']}: {r['lost']} lost, {r['connected']}/{r['count']} connected",
           r["lost"] == 0 and r["connected"] == r["count"])
          for s, _, r in measured] + [(f"reference C={c}: {r['lost']} lost", r["lost"] == 0)
                                      for c, r in reference.items()])
    return lines
