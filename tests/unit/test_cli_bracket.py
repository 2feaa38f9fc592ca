"""`flask bracket simulate`: the JSON document tools and tests rely on."""

from __future__ import annotations

import json

MATCH_KEYS = {"id", "side", "round", "position", "best_of", "slots", "winner_seed"}


def simulate(runner, *args: str) -> dict:
    result = runner.invoke(args=["bracket", "simulate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_single_elimination_json_shape(runner):
    document = simulate(runner, "--format", "single_elimination", "--entrants", "8",
                        "--higher-seed-wins")
    assert set(document) == {"format", "entrants", "matches", "standings"}
    assert (document["format"], document["entrants"]) == ("single_elimination", 8)
    assert len(document["matches"]) == 7
    first = document["matches"][0]
    assert set(first) == MATCH_KEYS
    assert first == {"id": 0, "side": "winners", "round": 1, "position": 1, "best_of": 1,
                     "slots": [{"seed": 1}, {"seed": 8}], "winner_seed": 1}
    assert document["standings"] == [
        {"place": 1, "seeds": [1]}, {"place": 2, "seeds": [2]},
        {"place": 3, "seeds": [3, 4]}, {"place": 5, "seeds": [5, 6, 7, 8]},
    ]


def test_double_elimination_json_shows_byes_and_every_side(runner):
    args = ("--format", "double_elimination", "--entrants", "5", "--grand-final", "reset",
            "--random-results", "11")
    document = simulate(runner, *args)
    assert simulate(runner, *args) == document  # the RNG seed reproduces the run
    assert {m["side"] for m in document["matches"]} == {"winners", "losers", "grand_final"}
    slots = [slot for m in document["matches"] for slot in m["slots"]]
    assert {"bye": True} in slots
    assert all(slot == {"bye": True} or set(slot) == {"seed"} for slot in slots)
    finals = [m for m in document["matches"] if m["side"] == "grand_final"]
    reset_played = finals[0]["winner_seed"] == finals[0]["slots"][1]["seed"]
    assert len(finals) == (2 if reset_played else 1)
    assert sorted(s for p in document["standings"] for s in p["seeds"]) == [1, 2, 3, 4, 5]
    assert all(set(m) == MATCH_KEYS for m in document["matches"])


def test_third_place_match_in_the_json(runner):
    document = simulate(runner, "--format", "single_elimination", "--entrants", "6",
                        "--third-place")
    third = [m for m in document["matches"] if m["side"] == "third_place"]
    assert third[0]["slots"] == [{"seed": 4}, {"seed": 3}] and third[0]["winner_seed"] == 3
    assert [p["place"] for p in document["standings"]] == [1, 2, 3, 4, 5]


def test_swiss_plays_its_rounds_without_rematches(runner):
    document = simulate(runner, "--format", "swiss", "--entrants", "9", "--random-results", "3")
    assert document["format"] == "swiss" and document["entrants"] == 9
    assert {m["round"] for m in document["matches"]} == {1, 2, 3, 4}  # ceil(log2 9)
    pairs = [frozenset(s["seed"] for s in m["slots"] if "seed" in s)
             for m in document["matches"] if all("seed" in s for s in m["slots"])]
    assert len(pairs) == len(set(pairs)), "a rematch"
    assert sum(1 for m in document["matches"] if {"bye": True} in m["slots"]) == 4
    assert [p["place"] for p in document["standings"]] == list(range(1, 10))


def test_conflicting_options_are_refused(runner):
    result = runner.invoke(args=["bracket", "simulate", "--format", "double_elimination",
                                 "--entrants", "4", "--third-place"])
    assert result.exit_code == 2 and "third-place" in result.output
