"""Flask commands: users, demo data."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

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


def register(app: Flask) -> None:
    app.cli.add_command(users)
