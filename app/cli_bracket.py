"""`flask bracket simulate`: build and play a bracket with the engine alone (no database)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.brackets import build
from app.brackets.model import BYE, BracketError, Format, GrandFinal
from app.brackets.play import Play, Status
from app.brackets.simulate import coin, higher_seed, play_out
from app.brackets.standings import standings

bracket = AppGroup("bracket", help="Bracket engine tools.")

NOT_YET = (Format.ROUND_ROBIN, Format.SWISS)


@bracket.command("simulate")
@click.option("--format", "format_", required=True, type=click.Choice([f.value for f in Format]))
@click.option("--entrants", required=True, type=click.IntRange(min=2))
@click.option("--grand-final", type=click.Choice([g.value for g in GrandFinal]),
              default=GrandFinal.SINGLE.value, show_default=True)
@click.option("--third-place", is_flag=True, help="Single elimination: add a third-place match.")
@click.option("--groups", type=click.IntRange(min=1), help="Round robin: number of groups.")
@click.option("--rounds", type=click.IntRange(min=1), help="Swiss: number of rounds.")
@click.option("--random-results", "rng_seed", type=int, metavar="SEED",
              help="A seeded RNG picks every winner.")
@click.option("--higher-seed-wins", is_flag=True,
              help="The smaller seed number always wins (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole bracket as JSON.")
def simulate(format_: str, entrants: int, grand_final: str, third_place: bool,
             groups: int | None, rounds: int | None, rng_seed: int | None,
             higher_seed_wins: bool, as_json: bool) -> None:
    """Build a bracket for seeds S1..SN, play every match, print the result."""
    fmt = Format(format_)
    if fmt in NOT_YET:
        raise click.ClickException(f"{fmt.value} is not implemented yet")
    if rng_seed is not None and higher_seed_wins:
        raise click.UsageError("choose --random-results or --higher-seed-wins, not both")
    try:
        structure = build(fmt, entrants, grand_final=grand_final, third_place=third_place)
    except BracketError as error:
        raise click.UsageError(str(error)) from error
    play = play_out(structure, higher_seed if rng_seed is None else coin(rng_seed))
    document = report(play)
    if as_json:
        click.echo(json.dumps(document))
        return
    click.echo(f"{fmt.value}, {entrants} entrants, {len(document['matches'])} matches")
    for place in document["standings"]:
        click.echo(f"{place['place']:>5}  " + ", ".join(f"S{s}" for s in place["seeds"]))


def report(play: Play) -> dict:
    """The JSON document: matches as they ended up (an unneeded reset left out), standings."""
    matches = [
        {
            "id": match.id,
            "side": match.side.value,
            "round": match.round,
            "position": match.position,
            "best_of": match.best_of,
            "slots": [_slot(entrant) for entrant in state.slots],
            "winner_seed": state.winner or None,
        }
        for match, state in zip(play.matches, play.states, strict=True)
        if state.status != Status.SKIPPED
    ]
    return {
        "format": play.bracket.format.value,
        "entrants": play.bracket.entrants,
        "matches": matches,
        "standings": [{"place": p.place, "seeds": p.seeds} for p in standings(play)],
    }


def _slot(entrant: int | None) -> dict:
    if entrant is None:
        return {}
    return {"bye": True} if entrant == BYE else {"seed": entrant}
