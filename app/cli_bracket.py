"""`flask bracket simulate`: build and play a bracket with the engine alone (no database)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
from flask.cli import AppGroup

from app.brackets import build, round_robin
from app.brackets.model import BYE, BracketError, Format, GrandFinal
from app.brackets.play import Play, Status
from app.brackets.simulate import Winner, coin, higher_seed, play_out, relabel
from app.brackets.standings import Place, standings

bracket = AppGroup("bracket", help="Bracket engine tools.")

NOT_YET = (Format.SWISS,)
ADVANCE = 2


@bracket.command("simulate")
@click.option("--format", "format_", required=True, type=click.Choice([f.value for f in Format]))
@click.option("--entrants", required=True, type=click.IntRange(min=2))
@click.option("--grand-final", type=click.Choice([g.value for g in GrandFinal]),
              default=GrandFinal.SINGLE.value, show_default=True)
@click.option("--third-place", is_flag=True, help="Single elimination: add a third-place match.")
@click.option("--groups", type=click.IntRange(min=1), help="Round robin: number of groups.")
@click.option("--cycles", type=click.IntRange(1, 2), default=1, show_default=True,
              help="Round robin: 1 single, 2 double round robin.")
@click.option("--advance", type=click.IntRange(min=1),
              help=f"Round robin: how many of each group reach a single-elimination playoff "
                   f"(default {ADVANCE} with 2 groups or more, none with one group; at most the "
                   f"smallest group's size).")
@click.option("--rounds", type=click.IntRange(min=1), help="Swiss: number of rounds.")
@click.option("--random-results", "rng_seed", type=int, metavar="SEED",
              help="A seeded RNG picks every winner.")
@click.option("--higher-seed-wins", is_flag=True,
              help="The smaller seed number always wins (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole bracket as JSON.")
def simulate(format_: str, entrants: int, grand_final: str, third_place: bool,
             groups: int | None, cycles: int, advance: int | None, rounds: int | None,
             rng_seed: int | None, higher_seed_wins: bool, as_json: bool) -> None:
    """Build a bracket for seeds S1..SN, play every match, print the result."""
    fmt = Format(format_)
    if rng_seed is not None and higher_seed_wins:
        raise click.UsageError("choose --random-results or --higher-seed-wins, not both")
    if advance is not None and fmt != Format.ROUND_ROBIN:
        raise click.UsageError("--advance applies to round robin only")
    try:
        structure = build(fmt, entrants, grand_final=grand_final, third_place=third_place,
                          groups=groups or 1, cycles=cycles, rounds=rounds)
    except BracketError as error:
        raise click.UsageError(str(error)) from error
    rule = higher_seed if rng_seed is None else coin(rng_seed)
    play = play_out(structure, rule)
    if structure.groups > 1 and advance is None:
        advance = ADVANCE
    try:
        document = report(play) if advance is None else with_playoff(play, advance, rule)
    except BracketError as error:
        raise click.UsageError(str(error)) from error
    if as_json:
        click.echo(json.dumps(document))
        return
    click.echo(f"{fmt.value}, {entrants} entrants, {len(document['matches'])} matches")
    for place in document["standings"]:
        click.echo(f"{place['place']:>5}  " + ", ".join(f"S{s}" for s in place["seeds"]))


def report(play: Play) -> dict:
    """The JSON document: matches as they ended up (an unneeded reset left out), standings."""
    return {
        "format": play.bracket.format.value,
        "entrants": play.bracket.entrants,
        "matches": matches(play),
        "standings": places(standings(play)),
    }


def with_playoff(groups: Play, advance: int, rule: Winner) -> dict:
    """The groups' document followed by a single-elimination playoff of the top `advance`.

    The playoff is played with the same rule on the original seeds; its matches carry ids after
    the groups' and show original seeds, so the two stages read as one list.
    """
    tables = round_robin.group_tables(groups)
    order = round_robin.playoff_order(tables, min(advance, *map(len, tables)))
    playoff = play_out(build(Format.SINGLE_ELIMINATION, len(order)), relabel(rule, order))
    document = report(groups)
    document["matches"] += matches(playoff, seeds=order, first_id=len(document["matches"]))
    document["standings"] = places(round_robin.playoff_standings(groups, playoff, order))
    return document


def matches(play: Play, *, seeds: Sequence[int] | None = None, first_id: int = 0) -> list[dict]:
    """Each match as JSON; `seeds` maps a later stage's seeds back to the original ones."""
    def entrant(seed: int) -> int:
        return seeds[seed - 1] if seeds is not None and seed != BYE else seed

    documents = []
    for match, state in zip(play.matches, play.states, strict=True):
        if state.status == Status.SKIPPED:
            continue
        document = {
            "id": first_id + match.id,
            "side": match.side.value,
            "round": match.round,
            "position": match.position,
            "best_of": match.best_of,
            "slots": [_slot(e if e is None else entrant(e)) for e in state.slots],
            "winner_seed": entrant(state.winner) if state.winner else None,
        }
        if match.group is not None:
            document["group"] = match.group
        documents.append(document)
    return documents


def places(table: list[Place]) -> list[dict]:
    return [{"place": p.place, "seeds": p.seeds} for p in table]


def _slot(entrant: int | None) -> dict:
    if entrant is None:
        return {}
    return {"bye": True} if entrant == BYE else {"seed": entrant}
