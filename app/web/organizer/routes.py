"""Organizer panel: create, edit and run tournaments."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired

from app.extensions import db
from app.models import Status, Tournament
from app.services import request_keys, tournaments
from app.services.errors import Invalid
from app.web.access import SIGNED_IN, TOURNAMENT_ORGANIZER, TOURNAMENT_STAFF, requires
from app.web.forms import Submission, submit
from app.web.organizer.forms import TournamentForm, fill_from, to_input

bp = Blueprint("organizer", __name__, url_prefix="/manage")


class StatusForm(FlaskForm):
    target = HiddenField(validators=[InputRequired()])
    expected = HiddenField(validators=[InputRequired()])


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise Invalid(f"Unknown status “{value}”.") from None


@bp.get("/")
@requires(SIGNED_IN)
def dashboard():
    """Tournaments the user organizes or coordinates."""
    return render_template("pages/organizer/dashboard.html",
                           tournaments=tournaments.organized_by(current_user))


@bp.route("/tournaments/new", methods=["GET", "POST"])
@requires(SIGNED_IN)
def tournament_new():
    """Create a tournament (as a draft)."""
    form = TournamentForm()
    if not form.game.choices:
        flash("There are no games yet: a site admin must add one first.", "error")
    if not form.is_submitted():
        form.request_key.data = request_keys.new_key()
    done = submit(form, lambda: tournaments.create(current_user, to_input(form),
                                                   form.request_key.data))
    if not done.ok and form.is_submitted():  # the same form, submitted twice at once?
        earlier = request_keys.replay(current_user, form.request_key.data, Tournament)
        done = Submission(earlier is not None, earlier)
    if done.ok:
        flash("Tournament created as a draft. Publish it when you are ready.", "success")
        return redirect(url_for("organizer.tournament", slug=done.value.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("pages/organizer/tournament_form.html", form=form,
                           tournament=None), status


@bp.get("/t/<slug>/")
@requires(TOURNAMENT_STAFF)
def tournament(tournament):
    """The organizer's overview of one tournament."""
    return render_template("pages/organizer/tournament.html", tournament=tournament,
                           transitions=tournaments.TRANSITIONS[tournament.status],
                           status_form=StatusForm())


@bp.route("/t/<slug>/edit", methods=["GET", "POST"])
@requires(TOURNAMENT_ORGANIZER)
def tournament_edit(tournament):
    """Change a tournament's settings."""
    form = TournamentForm()
    if not form.is_submitted():
        fill_from(form, tournament)
        form.version.data = tournaments.edit_version(tournament)
    elif (done := submit(form, lambda: tournaments.update(current_user, tournament,
                                                          to_input(form),
                                                          form.version.data))).ok:
        flash("Saved." if done.value else "Nothing changed.", "success")
        return redirect(url_for("organizer.tournament", slug=tournament.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("pages/organizer/tournament_form.html", form=form,
                           tournament=tournament), status


@bp.post("/t/<slug>/status")
@requires(TOURNAMENT_ORGANIZER)
def tournament_status(tournament):
    """Move the tournament to its next status (or cancel it)."""
    form = StatusForm()
    if not form.validate_on_submit():
        raise Invalid("Choose what to do with the tournament.")
    target, expected = _status(form.target.data), _status(form.expected.data)
    tournaments.transition(current_user, tournament, target, expected)
    db.session.commit()
    flash(f"{tournament.name} is now {target.value.replace('_', ' ').lower()}.", "success")
    return redirect(url_for("organizer.tournament", slug=tournament.slug))
