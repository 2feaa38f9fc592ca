"""Bracket generation for organizers (options, preview, generate, finalize, seeds, ratings)
and the public bracket page."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.models import Registration, Tournament
from app.services import brackets, seeding, stages
from app.services.errors import Conflict, Invalid
from app.web.access import (
    TOURNAMENT_ORGANIZER,
    TOURNAMENT_STAFF,
    TOURNAMENT_VIEWER,
    requires,
)
from app.web.brackets import pages
from app.web.brackets.forms import (
    RELOAD,
    FinalizeForm,
    GenerateForm,
    ImportForm,
    OptionsForm,
    RatingsForm,
    SeedsForm,
    rating_values,
    seed_order,
)
from app.web.forms import attempt

bp = Blueprint("brackets", __name__)


@bp.app_template_global()
def bracket_state(tournament: Tournament) -> str | None:
    """Whether tournament pages link to a bracket: "finalized", "draft" (staff only) or None."""
    bracket = brackets.current(tournament)
    return None if bracket is None else "finalized" if bracket.finalized else "draft"


# --- the organizer's bracket page ----------------------------------------------------------


@bp.get("/manage/t/<slug>/bracket")
@requires(TOURNAMENT_STAFF)
def manage(tournament: Tournament):
    """Rules, options and eligibility; with ?preview=1 the bracket those options would make."""
    if request.args.get("preview") != "1":
        return pages.manage(tournament, pages.options_of(tournament))
    form = OptionsForm(formdata=request.args).for_tournament(tournament)
    valid = form.validate()
    return pages.manage(tournament, form, preview=valid, status=200 if valid else 400)


@bp.post("/manage/t/<slug>/bracket/generate")
@requires(TOURNAMENT_ORGANIZER)
def generate(tournament: Tournament):
    """Generate (or regenerate) the bracket the preview showed."""
    form = GenerateForm().for_tournament(tournament)
    done, value, status = attempt(form, lambda: brackets.generate(
        current_user, tournament, form.options(tournament), form.version.data))
    if not done:
        # A bad form: the preview again, with the errors; a refusal by the service: its reason
        # (on the options, or above the bracket as it is now for a conflict).
        return pages.manage(tournament, form, generate_form=form, preview=value is None,
                            notice=value if status == 409 else None, status=status)
    flash(f"Bracket {'regenerated' if value.version > 1 else 'generated'} with "
          f"{value.entrants} entrants. It is a draft: finalize it to publish it.", "success")
    return _to_manage(tournament)


@bp.post("/manage/t/<slug>/bracket/finalize")
@requires(TOURNAMENT_ORGANIZER)
def finalize(tournament: Tournament):
    """Publish the bracket: everyone who can see the tournament sees it."""
    form = FinalizeForm()
    done, value, status = attempt(form, lambda: brackets.finalize(
        current_user, tournament, form.version.data))
    if not done:
        notice = value or Invalid(next(iter(form.version.errors), RELOAD))
        return pages.manage(tournament, pages.options_of(tournament), notice=notice,
                            status=status)
    flash("The bracket is finalized and public.", "success")
    return _to_manage(tournament)


@bp.post("/manage/t/<slug>/bracket/playoffs")
@requires(TOURNAMENT_ORGANIZER)
def playoffs(tournament: Tournament):
    """Seed the playoffs from the finished round-robin groups."""
    form = FinalizeForm()
    done, value, status = attempt(form, lambda: stages.generate_playoffs(
        current_user, tournament, form.version.data))
    if not done:
        notice = value or Invalid(next(iter(form.version.errors), RELOAD))
        return pages.manage(tournament, pages.options_of(tournament), notice=notice,
                            status=status)
    flash(f"Playoffs generated: {value.entrants} entrants from the group tables.", "success")
    return _to_manage(tournament)


def _to_manage(tournament: Tournament):
    return redirect(url_for("brackets.manage", slug=tournament.slug), 303)


# --- manual seeds --------------------------------------------------------------------------


@bp.get("/manage/t/<slug>/bracket/seeds")
@requires(TOURNAMENT_STAFF)
def seeds(tournament: Tournament):
    """The manual seed order: numbers to type, rows to drag."""
    return pages.seeds(tournament)


@bp.post("/manage/t/<slug>/bracket/seeds")
@requires(TOURNAMENT_ORGANIZER)
def save_seeds(tournament: Tournament):
    """Save the seed order typed (or dragged) on the page, all or nothing."""
    form, entrants = SeedsForm(), pages.draft_order(tournament)
    typed = seed_order(request.form, entrants)
    if typed.errors:
        form.validate_on_submit()
        return pages.seeds(tournament, form=form, typed=typed, status=400)
    order = sorted(typed.values, key=typed.values.__getitem__)
    done, value, status = attempt(form, lambda: seeding.save_draft(
        current_user, tournament, order, form.version.data))
    if not done:
        conflict = status == 409
        return pages.seeds(tournament, form=None if conflict else form,
                           typed=None if conflict else typed, notice=value, status=status)
    flash("Seed order saved. Generate the bracket with manual seeding to use it.", "success")
    return redirect(url_for("brackets.seeds", slug=tournament.slug), 303)


# --- ratings -------------------------------------------------------------------------------


@bp.get("/manage/t/<slug>/ratings")
@requires(TOURNAMENT_STAFF)
def ratings(tournament: Tournament):
    """Every entrant's rating and club/region in the tournament's game."""
    return pages.ratings(tournament)


@bp.post("/manage/t/<slug>/ratings")
@requires(TOURNAMENT_ORGANIZER)
def save_ratings(tournament: Tournament):
    """Save the ratings table: every row or, if one is wrong, none."""
    form, rows = RatingsForm(), [row.registration for row in pages.rating_rows(tournament)]
    typed = rating_values(request.form, rows)
    if typed.errors:
        form.validate_on_submit()
        return pages.ratings(tournament, form=form, typed=typed, status=400)
    done, value, status = attempt(form, lambda: _set_ratings(tournament, rows, typed.values))
    if not done:
        _explain(form, value)
        return pages.ratings(tournament, form=form, typed=typed, status=status)
    flash(f"Saved {value} rating{'s' if value != 1 else ''}." if value else "Nothing changed.",
          "success")
    return _to_ratings(tournament)


def _set_ratings(tournament: Tournament, rows: list[Registration],
                 values: dict[int, tuple[int | None, str]]) -> int:
    """Set the ratings that changed; return how many did."""
    current = seeding.ratings_of(tournament, rows)
    changed = 0
    for registration in rows:
        if registration.id not in values:
            continue
        rating, affiliation = values[registration.id]
        row = current[registration.id]
        if ((row.rating, row.affiliation) if row else (None, "")) != (rating, affiliation):
            seeding.set_rating(current_user, tournament, registration, rating, affiliation)
            changed += 1
    return changed


@bp.post("/manage/t/<slug>/ratings/import")
@requires(TOURNAMENT_ORGANIZER)
def import_ratings(tournament: Tournament):
    """Import `name,rating[,club/region]` rows from a CSV file or pasted text, all or nothing."""
    form = ImportForm()
    done, value, status = attempt(form, lambda: seeding.import_ratings(
        current_user, tournament, form.csv_text()))
    if not done:
        problems = _problems(value) if isinstance(value, Invalid) else []
        if problems:
            form.file.errors = []
            form.form_errors.clear()
        _explain(form, value)
        return pages.ratings(tournament, import_form=form, problems=problems, status=status)
    flash(f"Imported {value.updated} rating{'s' if value.updated != 1 else ''}.", "success")
    return _to_ratings(tournament)


def _explain(form: FlaskForm, refusal: Any) -> None:
    """A conflict (a concurrent twin) shows on the form; invalid input shows already."""
    if isinstance(refusal, Conflict):
        form.form_errors.append(refusal.message)


def _problems(error: Invalid) -> list[str]:
    """The import's problems one per line ("Line 3: ...")."""
    text = error.fields.get("file") or error.message
    return [p for p in re.split(r"; (?=Line \d+:)", text) if p]


def _to_ratings(tournament: Tournament):
    return redirect(url_for("brackets.ratings", slug=tournament.slug), 303)


# --- the public bracket ---------------------------------------------------------------------


@bp.get("/t/<slug>/bracket")
@requires(TOURNAMENT_VIEWER)
def public(tournament: Tournament):
    """The finalized bracket, live; staff also see a draft; others learn it is not out yet."""
    return pages.public(tournament)
