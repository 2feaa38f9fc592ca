"""Flask commands: users, demo data and live demo play, the sweeper."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.cli_bracket import bracket
from app.extensions import db

users = AppGroup("users", help="Manage accounts.")


@users.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.password_option()
def create_admin(username: str, email: str, password: str) -> None:
    """Create a site admin (or promote an existing user)."""
    from app.database import write_intent
    from app.services import accounts
    from app.services.errors import Invalid

    with write_intent():
        try:
            user = accounts.make_admin(username, email, password)
            db.session.commit()
        except Invalid as error:
            db.session.rollback()
            details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
            raise click.ClickException(f"{error.message} {details}".strip()) from error
    click.echo(f"{user.username} is a site admin.")


@click.group("demo", invoke_without_command=True)
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Load demo data (idempotent) and print the demo logins; `demo live` plays it on."""
    if ctx.invoked_subcommand is not None:
        return
    from app import demo as demo_data
    from app.database import write_intent

    with write_intent():
        created = demo_data.load()
        db.session.commit()
    summary = ", ".join(f"{n} {what}" for what, n in created.items() if n) or "nothing new"
    click.echo(f"Demo data loaded ({summary}).")
    click.echo(f"Demo logins (password for all: {demo_data.DEMO_PASSWORD}):")
    click.echo("  admin             site admin")
    click.echo("  orga1, orga2      organizers (demo-cup is run by orga1)")
    click.echo(f"  player01..player{demo_data.PLAYER_COUNT:02d} players "
               "(player01, player05, … captain the demo teams)")
    click.echo("Watch /t/demo-cup/bracket move: flask --app wsgi demo live")


@demo.command("live")
@click.option("--tournament", "slug", default="demo-cup", show_default=True,
              help="The slug of the tournament to play.")
@click.option("--pace", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Seconds between two actions.")
@click.option("--until", type=click.Choice(["complete"]),
              help="complete: exit once the tournament is completed (0) or cannot go on (1).")
def live(slug: str, pace: float, until: str | None) -> None:
    """Play a tournament forward as its players and staff would, one action at a time."""
    from app import demo_live
    from app.services.errors import DomainError

    try:
        demo_live.run(slug, pace=pace, until_complete=until == "complete", echo=click.echo)
    except demo_live.CannotPlay as error:
        raise click.ClickException(str(error)) from error
    except DomainError as error:  # e.g. staff cancelled the tournament meanwhile
        raise click.ClickException(f"Stopped: {error.message}") from error
    except KeyboardInterrupt:
        click.echo("Stopped; run it again to carry on from here.")


@click.command("sweep")
def sweep() -> None:
    """Apply the schedule's due status changes now (what the periodic sweeper does)."""
    from app.jobs import sweeper

    applied = sweeper.sweep()
    click.echo(f"Sweep applied {applied} transition{'' if applied == 1 else 's'}.")


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(sweep)
    app.cli.add_command(bracket)
