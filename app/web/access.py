"""Access rules for views: every endpoint declares one, and it is enforced here.

`@requires(RULE)` loads the objects named by the URL (``slug`` → tournament,
``team_id`` → team, ``game_id`` → game), checks the rule on them and passes
them to the view. An endpoint without a rule is refused (fail closed), and the
role-matrix test fails for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import Game, Match, Team, Tournament
from app.services import matches, permissions

Check = Callable[[Any, dict[str, Any]], bool]


@dataclass(frozen=True)
class Rule:
    name: str
    check: Check
    signed_in: bool = True  # anonymous users are sent to the login page
    hide: bool = False  # refuse with 404 so private objects are not revealed


ANYONE = Rule("anyone", lambda u, o: True, signed_in=False)
SIGNED_IN = Rule("signed_in", lambda u, o: True)
SITE_ADMIN = Rule("site_admin", lambda u, o: u.is_admin)
TOURNAMENT_VIEWER = Rule(
    "tournament_viewer",
    lambda u, o: permissions.can_view(u, o["tournament"]),
    signed_in=False,
    hide=True,
)
TOURNAMENT_STAFF = Rule(
    "tournament_staff", lambda u, o: permissions.can_coordinate(u, o["tournament"])
)
TOURNAMENT_ORGANIZER = Rule(
    "tournament_organizer", lambda u, o: permissions.can_manage(u, o["tournament"])
)
# Match pages: the match must belong to the tournament in the URL (else 404, like a missing
# one); who may act on the match itself (a side, staff) is the service's question.
MATCH_VIEWER = Rule(
    "match_viewer",
    lambda u, o: _in_tournament(o) and permissions.can_view(u, o["tournament"]) and (
        _published(o) or permissions.can_coordinate(u, o["tournament"])),
    signed_in=False,
    hide=True,
)
MATCH_PLAYER = Rule(
    "match_player",
    lambda u, o: _in_tournament(o) and permissions.can_view(u, o["tournament"]),
    hide=True,
)
MATCH_STAFF = Rule(
    "match_staff",
    lambda u, o: _in_tournament(o) and permissions.can_coordinate(u, o["tournament"]),
    hide=True,
)
TEAM_MEMBER = Rule("team_member", lambda u, o: permissions.is_team_member(u, o["team"]))
TEAM_CAPTAIN = Rule("team_captain", lambda u, o: permissions.is_team_captain(u, o["team"]))


def _in_tournament(objects: dict[str, Any]) -> bool:
    return objects["match"].tournament_id == objects["tournament"].id


def _published(objects: dict[str, Any]) -> bool:
    """Matches of a draft bracket are for staff only."""
    bracket = matches.bracket_of(objects["match"])
    return bracket is not None and bracket.finalized


# Built once: every page and action of a tournament runs it, and a statement object kept
# keeps its cache key too (building both each time cost more than the query).
_BY_SLUG = select(Tournament).where(Tournament.slug == bindparam("slug"))


def _tournament(slug: str) -> Tournament | None:
    return db.session.scalar(_BY_SLUG, {"slug": slug})


def _team(team_id: int) -> Team | None:
    team = db.session.get(Team, team_id)
    return team if team and team.active else None


LOADERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "slug": ("tournament", _tournament),
    "team_id": ("team", _team),
    "game_id": ("game", lambda game_id: db.session.get(Game, game_id)),
    "match_id": ("match", lambda match_id: db.session.get(Match, match_id)),
}


def load_objects(view_args: dict[str, Any]) -> dict[str, Any]:
    """Replace URL identifiers by the objects they name; 404 when one does not exist."""
    objects = {}
    for key, value in view_args.items():
        if key in LOADERS:
            name, loader = LOADERS[key]
            obj = loader(value)
            if obj is None:
                abort(404)
            objects[name] = obj
        else:
            objects[key] = value
    return objects


def enforce(rule: Rule, objects: dict[str, Any]) -> None:
    """Abort unless the current user passes `rule` on `objects`."""
    user = current_user if current_user.is_authenticated else None
    if user is None and rule.signed_in:
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    if not rule.check(user, objects):
        abort(404 if rule.hide else 403)


def requires(rule: Rule) -> Callable:
    """Declare and enforce the access rule of a view."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **view_args: Any) -> Any:
            objects = load_objects(view_args)
            enforce(rule, objects)
            return view(*args, **objects)

        guarded.access_rule = rule
        return guarded

    return decorator


def rule_of(view: Callable) -> Rule | None:
    return getattr(view, "access_rule", None)
