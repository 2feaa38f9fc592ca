"""The bracket pages as rendered: what each page shows, for the first load and after a refusal.

Routes parse and act; these functions gather what a page needs from the services, so a page
shown after a refused form (400, 409) is the same page, with the form's values and errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Bracket, Format, Rating, Registration, SeedingMethod, Tournament
from app.services import brackets, permissions, seeding, stages
from app.services.errors import DomainError, Invalid
from app.web.brackets import view
from app.web.brackets.forms import (
    SEEDING_LABELS,
    SEPARATION_LABELS,
    FinalizeForm,
    GenerateForm,
    ImportForm,
    OptionsForm,
    Parsed,
    RatingsForm,
    SeedsForm,
)
from app.web.forms import apply_errors

FORMAT_LABELS = {
    Format.SINGLE_ELIMINATION: "Single elimination",
    Format.DOUBLE_ELIMINATION: "Double elimination",
    Format.ROUND_ROBIN: "Round robin",
    Format.SWISS: "Swiss",
}
GRAND_FINAL_LABELS = {"none": "None (the winners-bracket champion wins)",
                      "single": "One match", "reset": "With a bracket reset"}
Page = tuple[str, int]


# --- the organizer's bracket page ----------------------------------------------------------


def options_of(tournament: Tournament) -> OptionsForm:
    """The options form, starting from what the current bracket used (or the defaults)."""
    form = OptionsForm(formdata=None).for_tournament(tournament)
    bracket = brackets.current(tournament)
    if bracket is not None:
        settings = bracket.settings or {}
        form.seeding.data = bracket.seeding_method.value
        form.separation.data = bracket.separation.value
        form.groups.data = settings.get("groups", 1)
        form.cycles.data = str(settings.get("cycles", 1))
        form.advance.data = settings.get("advance", 2)
        form.rounds.data = settings.get("rounds")
    return form


def manage(tournament: Tournament, options_form: OptionsForm | GenerateForm, *,
           generate_form: GenerateForm | None = None, preview: bool = False,
           notice: DomainError | None = None, status: int = 200) -> Page:
    """The organizer's bracket page: rules, options, eligibility, preview, current bracket."""
    entrants, excluded = seeding.eligibility(tournament)
    current = brackets.current(tournament)
    context: dict[str, Any] = dict(
        tournament=tournament, options_form=options_form, entrants=entrants, excluded=excluded,
        current=current, notice=notice, can_manage=permissions.can_manage(current_user, tournament),
        format_label=FORMAT_LABELS[tournament.format], grand_final_labels=GRAND_FINAL_LABELS,
        seeding_labels=SEEDING_LABELS, separation_labels=SEPARATION_LABELS,
        show_ratings=False, show_groups=tournament.format == Format.ROUND_ROBIN, plan=None,
        group_name=view.group_name, generatable=tournament.status in brackets.GENERATABLE)
    if preview and options_form.options_valid():
        plan = _plan(tournament, options_form)
        if plan is None:
            status = 400
        else:
            context |= _preview(tournament, options_form, plan, generate_form, current)
    if current is not None:
        context |= _current(current)
    return render_template("pages/brackets/manage.html", **context), status


def _plan(tournament: Tournament, form: OptionsForm | GenerateForm) -> brackets.Plan | None:
    try:
        return brackets.plan(tournament, form.options(tournament))
    except Invalid as error:
        apply_errors(form, error)
        return None


def _preview(tournament: Tournament, form: OptionsForm | GenerateForm, plan: brackets.Plan,
             generate_form: GenerateForm | None, current: Bracket | None) -> dict[str, Any]:
    if generate_form is None:
        generate_form = GenerateForm(formdata=None)
        generate_form.version.data = current.version if current else 0
    random = plan.seeding.method == SeedingMethod.RANDOM
    return dict(
        plan=plan, plan_drawing=view.drawing(plan.structure, plan.play, plan.names),
        plan_seeds=view.plan_seeds(plan), generate_form=generate_form,
        generate_args=form.args(tournament, rng_seed=plan.seeding.rng_seed),
        show_ratings=plan.seeding.method == SeedingMethod.RANKED,
        redraw_url=url_for("brackets.manage", slug=tournament.slug, preview=1,
                           **form.args(tournament)) if random else None)


def _current(bracket: Bracket) -> dict[str, Any]:
    # After a refusal too, the form acts on the bracket the page now shows.
    finalize_form = FinalizeForm(formdata=None)
    finalize_form.version.data = bracket.version
    playoffs = stages.current_playoffs(bracket)
    return dict(current_drawing=view.saved_drawing(bracket),
                playoff_drawing=view.saved_drawing(playoffs) if playoffs else None,
                playoffs_due=playoffs is None and stages.playoffs_due(bracket),
                current_seeds=view.saved_seeds(bracket), finalize_form=finalize_form,
                started=brackets.started(bracket),
                outdated=brackets.outdated(bracket, bracket_tournament(bracket)),
                current_ratings=bracket.seeding_method == SeedingMethod.RANKED)


# --- manual seeds --------------------------------------------------------------------------


def draft_order(tournament: Tournament) -> list[Registration]:
    """The eligible entrants in the saved manual order; the others after, in registration order."""
    entrants, _ = seeding.eligibility(tournament)
    saved = seeding.draft(tournament)
    wanted = {rid: i for i, rid in enumerate(saved.registration_ids if saved else [])}
    return sorted(entrants, key=lambda r: wanted.get(r.id, len(wanted)))


def seeds(tournament: Tournament, *, form: SeedsForm | None = None, typed: Parsed | None = None,
          notice: DomainError | None = None, status: int = 200) -> Page:
    """The manual seed order page (after a refusal: what was typed, with the errors)."""
    entrants = draft_order(tournament)
    saved = seeding.draft(tournament)
    if form is None:
        form = SeedsForm(formdata=None)
        form.version.data = saved.version if saved else 0
    typed = typed or Parsed()
    rows = [(position, registration, typed.typed.get(registration.id, str(position)),
             typed.errors.get(registration.id))
            for position, registration in enumerate(entrants, start=1)]
    return render_template(
        "pages/brackets/seeds.html", tournament=tournament, rows=rows, form=form, saved=saved,
        notice=notice, errors=len(typed.errors),
        can_manage=permissions.can_manage(current_user, tournament)), status


# --- ratings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RatingRow:
    registration: Registration
    reason: str | None  # why it is not seeded (None: it is)
    rating: Rating | None


def rating_rows(tournament: Tournament) -> list[RatingRow]:
    """Every player or team of the tournament once, those that would be seeded first."""
    entrants, excluded = seeding.eligibility(tournament)
    candidates = [(r, None) for r in entrants] + [(e.registration, e.reason) for e in excluded]
    ratings = seeding.ratings_of(tournament, [r for r, _ in candidates])
    rows, owners = [], set()
    for registration, reason in candidates:
        owner = registration.team_id if tournament.team_based else registration.user_id
        if owner not in owners:  # a team that registered twice has one rating
            owners.add(owner)
            rows.append(RatingRow(registration, reason, ratings[registration.id]))
    return rows


def ratings(tournament: Tournament, *, form: RatingsForm | None = None,
            typed: Parsed | None = None, import_form: ImportForm | None = None,
            problems: list[str] | None = None, status: int = 200) -> Page:
    """The ratings page: the table of ratings and the CSV import."""
    rows = rating_rows(tournament)
    typed = typed or Parsed()
    return render_template(
        "pages/brackets/ratings.html", tournament=tournament, rows=rows,
        form=form or RatingsForm(formdata=None), typed=typed.typed, errors=typed.errors,
        import_form=import_form or ImportForm(formdata=None), problems=problems or [],
        can_manage=permissions.can_manage(current_user, tournament)), status


# --- the public bracket --------------------------------------------------------------------


def public(tournament: Tournament) -> Page:
    """The finalized bracket for everyone; a draft for staff only."""
    bracket = brackets.current(tournament)
    staff = permissions.can_coordinate(current_user, tournament)
    shown = bracket if bracket is not None and (bracket.finalized or staff) else None
    playoffs = stages.current_playoffs(shown) if shown else None
    return render_template(
        "pages/brackets/public.html", tournament=tournament, bracket=shown, is_staff=staff,
        drawing=view.saved_drawing(shown) if shown else None,
        playoff_drawing=view.saved_drawing(playoffs) if playoffs else None), 200


def bracket_tournament(bracket: Bracket) -> Tournament:
    return db.session.get(Tournament, bracket.tournament_id)
