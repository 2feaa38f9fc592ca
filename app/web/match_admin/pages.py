"""The staff match pages as rendered, for the first load and after a refused form."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Bracket,
    Match,
    Registration,
    ResultSubmission,
    StaffMember,
    SubmissionStatus,
    Tournament,
    User,
)
from app.services import match_list, match_schedule, matches, permissions
from app.services import match_progression as progression
from app.services.match_rules import FINISHED, STARTED, Action, allowed
from app.web.match_admin.forms import (
    CorrectForm,
    DetailsForm,
    DisqualifyForm,
    ForfeitForm,
    ListFilters,
    PlanForm,
    ResultForm,
    ScheduleForm,
    ScheduleRoundForm,
    SettleForm,
    lobby_fields,
    to_local,
)
from app.web.matches import view
from app.web.matches.forms import ActionForm, ReasonForm

Page = tuple[str, int]
FILTERS = ("round", "state", "coordinator", "q")


# --- the list ----------------------------------------------------------------------------------


def index(tournament: Tournament, *, notice: Any = None, status: int = 200,
          **forms: Any) -> Page:
    """The match list page with its filters and the scheduling and disqualify forms."""
    context = list_context(tournament)
    found = context["listing"]
    context.update(
        round_form=forms.get("round_form") or round_form(found.bracket, formdata=None),
        plan_form=forms.get("plan_form") or PlanForm(formdata=None),
        disqualify_form=forms.get("disqualify_form") or disqualify_form(found.bracket,
                                                                        formdata=None),
        waves=len(match_schedule.waves(tournament)), notice=notice,
        can_manage=permissions.can_manage(current_user, tournament))
    return render_template("pages/match_admin/index.html", **context), status


def list_context(tournament: Tournament) -> dict[str, Any]:
    """The list filtered by the query string, and what each match waits for."""
    form = ListFilters(formdata=request.args)
    staff = staff_of(tournament)
    form.coordinator.choices = [("", "Anyone"), ("none", "Nobody assigned")] + [
        (str(u.id), u.display_name) for u in staff]
    bracket = match_list.stage(tournament)
    form.round.choices = [("", "Any round")] + round_choices(bracket)
    valid = form.validate()
    filters = match_list.Filters(**{name: form[name].data or "" for name in FILTERS})
    found = match_list.listing(tournament, filters if valid else match_list.NOTHING)
    coordinators = {u.id: u.display_name for u in staff}
    rows = [(m, names_of(m, found.names), view.waiting_on(
        m, found.reports.get(m.id), progression.checkin_opens(tournament, m)),
        coordinators.get(m.coordinator_id)) for m in found.rows]
    return {"tournament": tournament, "listing": found, "rows": rows, "filters": form,
            "filters_valid": valid, "args": {k: v for k, v in request.args.items() if v},
            "round_label": lambda m: view.round_title(found.bracket, m)}


def round_choices(bracket: Bracket | None) -> list[tuple[str, str]]:
    """Every round of the stage as (`side:round`, its name), in playing order."""
    if bracket is None:
        return []
    return [(f"{side}:{r}", view.round_name(bracket, side, r))
            for side, r in match_list.rounds(bracket)]


def names_of(match: Match, names: dict[int, str]) -> tuple[str, str]:
    """The two sides' names, or where they come from ("Winner of M3", "Bye")."""
    def name(seed: int | None, source: str) -> str:
        if seed:
            return names.get(seed, f"Seed {seed}")
        return "Bye" if seed == 0 or source == "bye" else view.pending_name(source)

    return name(match.seed_a, match.source_a), name(match.seed_b, match.source_b)


def round_form(bracket: Bracket | None, **kwargs: Any) -> ScheduleRoundForm:
    form = ScheduleRoundForm(prefix="round", **kwargs)
    form.round.choices = round_choices(bracket)
    return form


def round_matches(tournament: Tournament, value: str) -> list[Match]:
    return match_list.listing(tournament, match_list.Filters(round=value or "-")).rows


def disqualify_form(bracket: Bracket | None, **kwargs: Any) -> DisqualifyForm:
    form = DisqualifyForm(prefix="dq", **kwargs)
    entrants = sorted(bracket.seeds, key=lambda e: e.registration.name.casefold()) \
        if bracket else []
    form.registration.choices = [("", "Choose…")] + [
        (str(e.registration_id), e.registration.name) for e in entrants]
    return form


def registration(tournament: Tournament, value: str) -> Registration:
    found = db.session.get(Registration, int(value)) if (value or "").isdigit() else None
    if found is None or found.tournament_id != tournament.id:
        abort(404)
    return found


def staff_of(tournament: Tournament) -> list[User]:
    return list(db.session.scalars(select(User).join(StaffMember, StaffMember.user_id == User.id)
                                   .where(StaffMember.tournament_id == tournament.id)
                                   .order_by(User.display_name)))


# --- one match ---------------------------------------------------------------------------------


def control(match: Match, *, notice: Any = None, status: int = 200, **forms: Any) -> Page:
    """The control page: the match as everyone sees it, its reports, and the staff forms."""
    return render_template("pages/match_admin/control.html", panel=view.panel(match),
                           notice=notice, **controls_context(match, **forms)), status


def controls_context(match: Match, **forms: Any) -> dict[str, Any]:
    """The staff forms that apply to the match in its state, and what they need to show."""
    tournament = db.session.get(Tournament, match.tournament_id)
    names = view.side_names(match)
    data = {"version": match.version}
    context = {
        "match": match, "tournament": tournament, "slug": tournament.slug, "names": names,
        "reports": reports(match), "manager": permissions.can_manage(current_user, tournament),
        "can": {action.name.lower(): allowed(match.state, action) for action in Action},
        "finished": match.state in FINISHED, "started": match.state in STARTED,
        "no_shows": match_schedule.no_shows(match),
        "dependents": matches.started_dependents(match) if match.state in FINISHED else [],
        "lobby_fields": lobby_fields(tournament),
        "action_form": ActionForm(formdata=None, data=data),
        "schedule_form": ScheduleForm(formdata=None, prefix="schedule", data={
            **data, "when": to_local(match.scheduled_at, tournament)}),
        "details_form": details_form(tournament, formdata=None, data={
            **data, "coordinator": str(match.coordinator_id or ""),
            "stream_url": match.stream_url or ""}),
        "result_form": ResultForm(formdata=None, prefix="result", data=data),
        "correct_form": CorrectForm(formdata=None, prefix="correct", data=data),
        "settle_form": settle_form(match, names, formdata=None, data=data),
        "forfeit_form": ForfeitForm(formdata=None, prefix="forfeit", data=data),
        "cancel_form": ReasonForm(formdata=None, prefix="cancel", data=data),
        "reset_form": ReasonForm(formdata=None, prefix="reset", data=data),
        "typed": dict(request.form) if request.method == "POST" else {},
    }
    context.update(forms)
    context["forfeit_form"].side.choices = [("0", names[0]), ("1", names[1]),
                                            ("both", "Both sides")]
    for name in ("result_form", "correct_form", "settle_form"):
        form = context[name]
        form.score_a.label.text, form.score_b.label.text = (f"Game wins of {n}" for n in names)
    return context


def details_form(tournament: Tournament, **kwargs: Any) -> DetailsForm:
    return DetailsForm(**kwargs).for_tournament(tournament, staff_of(tournament))


def typed_lobby(form: Any) -> dict[str, str]:
    """The lobby values typed on the details form (`lobby-<field>`); unknown names are kept
    so that the service refuses them."""
    return {key.removeprefix("lobby-"): value for key, value in form.items()
            if key.startswith("lobby-")}


def settle_form(match: Match, names: tuple[str, str] | None = None,
                **kwargs: Any) -> SettleForm:
    """The settle form, offering the match's disputed reports by who made them."""
    form = SettleForm(prefix="settle", **kwargs)
    names = names or view.side_names(match)
    form.submission.choices = [("", "None: enter the score below")] + [
        (str(r.id), f"{names[r.side] if r.side is not None else 'Staff'}: "
                    f"{r.score_a}–{r.score_b}")
        for r in reports(match)
        if r.status in (SubmissionStatus.PENDING, SubmissionStatus.REJECTED)]
    return form


def reports(match: Match) -> list[ResultSubmission]:
    return list(db.session.scalars(select(ResultSubmission).where(
        ResultSubmission.match_id == match.id).order_by(ResultSubmission.id)))
