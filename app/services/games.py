"""Games: the titles tournaments are played in, managed by site admins."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import LOBBY_FIELDS, Game, Tournament, User
from app.services import audit
from app.services.errors import Conflict, Invalid, NotAllowed

MAX_NAME = 64
MIN_TEAM_SIZE, MAX_TEAM_SIZE = 1, 16


def list_games() -> list[Game]:
    """Every game, alphabetically."""
    return list(db.session.scalars(select(Game).order_by(func.lower(Game.name))))


def usage_counts() -> dict[int, int]:
    """How many tournaments use each game, by game id (games used by none are absent)."""
    rows = db.session.execute(
        select(Tournament.game_id, func.count(Tournament.id)).group_by(Tournament.game_id)
    )
    return {game_id: count for game_id, count in rows}


def create(actor: User, name: str, team_size: int | None, lobby_fields: Iterable[str]) -> Game:
    """Add a game; raise Invalid with field errors on bad input or a taken name."""
    _require_admin(actor)
    values = _validated(name, team_size, lobby_fields)
    game = Game(**values)
    _save(game)
    audit.record(actor, "game.created", game, **values)
    return game


def update(
    actor: User, game: Game, name: str, team_size: int | None, lobby_fields: Iterable[str]
) -> None:
    """Change a game's name, team size and lobby fields (audited: old and new values)."""
    _require_admin(actor)
    values = _validated(name, team_size, lobby_fields, game=game)
    old = {key: getattr(game, key) for key, value in values.items() if getattr(game, key) != value}
    if not old:
        return  # nothing changed (e.g. the same form sent twice): nothing to audit
    for key, value in values.items():
        setattr(game, key, value)
    _save(game)
    audit.record(actor, "game.updated", game, old=old, new={key: values[key] for key in old})


def delete(actor: User, game: Game) -> None:
    """Remove a game that no tournament uses; raise Conflict otherwise."""
    _require_admin(actor)
    used = usage_counts().get(game.id, 0)
    if used:
        raise Conflict(_in_use_message(game, used))
    audit.record(actor, "game.deleted", game, name=game.name)
    try:
        with db.session.begin_nested():
            db.session.delete(game)
    except IntegrityError as error:  # a tournament picked the game meanwhile
        raise Conflict(_in_use_message(game, 1)) from error


def _in_use_message(game: Game, count: int) -> str:
    noun = "tournament uses" if count == 1 else "tournaments use"
    return (f"{game.name} cannot be deleted: {count} {noun} it. "
            "Move those tournaments to another game first; nothing was deleted.")


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed("Only site admins manage games.")


def _validated(
    name: str, team_size: int | None, lobby_fields: Iterable[str], *, game: Game | None = None
) -> dict:
    """Clean the input or raise Invalid naming every bad field."""
    name = " ".join((name or "").split())
    fields = list(lobby_fields or ())
    errors = {}
    if not name:
        errors["name"] = "Enter the game's name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    elif _name_taken(name, game):
        errors["name"] = f"A game named {name} already exists."
    if team_size is None or not MIN_TEAM_SIZE <= team_size <= MAX_TEAM_SIZE:
        errors["team_size"] = f"Team size is a number from {MIN_TEAM_SIZE} to {MAX_TEAM_SIZE}."
    if unknown := [f for f in fields if f not in LOBBY_FIELDS]:
        errors["lobby_fields"] = f"Unknown lobby field: {', '.join(map(str, unknown))}."
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    # Keep the display order of LOBBY_FIELDS, each field once.
    ordered = [key for key in LOBBY_FIELDS if key in fields]
    return {"name": name, "team_size": team_size, "lobby_fields": ordered}


def _name_taken(name: str, game: Game | None) -> bool:
    query = select(Game.id).where(func.lower(Game.name) == name.lower())
    if game is not None:
        query = query.where(Game.id != game.id)
    return db.session.scalar(query.limit(1)) is not None


def _save(game: Game) -> None:
    """Flush in a savepoint so a concurrent duplicate name becomes a field error."""
    try:
        with db.session.begin_nested():
            db.session.add(game)
    except IntegrityError as error:
        raise Invalid(
            "Please correct the highlighted fields.",
            {"name": f"A game named {game.name} already exists."},
        ) from error
