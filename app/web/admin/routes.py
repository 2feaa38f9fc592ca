"""Site administration: games and coin grants."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import LOBBY_FIELDS, Game, User
from app.services import games as games_service
from app.services import ledger, request_keys
from app.services.errors import Conflict
from app.web.access import SITE_ADMIN, requires
from app.web.admin.forms import GameForm, GrantForm
from app.web.forms import submit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/games")
@requires(SITE_ADMIN)
def games():
    """Every game, with how many tournaments use it."""
    return _games_page()


@bp.route("/games/new", methods=["GET", "POST"])
@requires(SITE_ADMIN)
def game_new():
    """Add a game."""
    form = GameForm()
    done = submit(form, lambda: games_service.create(current_user, form.name.data,
                                                     form.team_size.data, form.lobby_fields.data))
    if done.ok:
        flash(f"{done.value.name} added.", "success")
        return redirect(url_for("admin.games"), 303)
    return _form_page(form)


@bp.route("/games/<int:game_id>/edit", methods=["GET", "POST"])
@requires(SITE_ADMIN)
def game_edit(game: Game):
    """Change a game's name, team size and lobby fields."""
    form = GameForm(obj=game)
    done = submit(form, lambda: games_service.update(current_user, game, form.name.data,
                                                     form.team_size.data, form.lobby_fields.data))
    if done.ok:
        flash(f"{game.name} saved.", "success")
        return redirect(url_for("admin.games"), 303)
    return _form_page(form, game)


@bp.post("/games/<int:game_id>/delete")
@requires(SITE_ADMIN)
def game_delete(game: Game):
    """Delete a game no tournament uses (409 with the reason otherwise)."""
    name = game.name
    try:
        games_service.delete(current_user, game)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        return _games_page(error.message, 409)
    flash(f"{name} deleted.", "success")
    return redirect(url_for("admin.games"), 303)


def _games_page(error: str | None = None, status: int = 200):
    return render_template(
        "pages/admin/games.html", games=games_service.list_games(),
        usage=games_service.usage_counts(), lobby_labels=LOBBY_FIELDS, error=error,
    ), status


def _form_page(form: GameForm, game: Game | None = None):
    # Rendered after a POST only when the input was refused.
    status = 400 if request.method == "POST" else 200
    return render_template("pages/admin/game_form.html", form=form, game=game,
                           lobby_labels=LOBBY_FIELDS), status


@bp.route("/grants", methods=["GET", "POST"])
@requires(SITE_ADMIN)
def grants():
    """Grant coins to a user with a reason (once per form), and list the latest grants."""
    form = GrantForm()
    if not form.is_submitted():
        form.request_key.data = request_keys.new_key()
    done = submit(form, lambda: _grant(form))
    if done.ok:
        user = done.value
        flash(f"Granted {form.amount.data:,} coins to {user.display_name} (@{user.username}).",
              "success")
        return redirect(url_for("admin.grants"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("pages/admin/grants.html", form=form,
                           recent=ledger.recent_grants(), max_grant=ledger.MAX_GRANT), status


def _grant(form: GrantForm) -> User:
    """Grant what the form says; return the recipient."""
    user = ledger.recipient(form.username.data)
    ledger.grant(current_user, user, form.amount.data, form.reason.data, form.request_key.data)
    return user
