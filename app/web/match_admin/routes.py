"""Staff views: the match list with bulk scheduling, and the control page of one match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Match, Tournament
from app.services import match_control, match_list, match_schedule, results
from app.services.errors import Invalid
from app.web.access import MATCH_STAFF, TOURNAMENT_ORGANIZER, TOURNAMENT_STAFF, requires
from app.web.forms import attempt, versioned_action
from app.web.match_admin import pages
from app.web.match_admin.forms import (
    CorrectForm,
    ForfeitForm,
    PlanForm,
    ResultForm,
    ScheduleForm,
    SettleForm,
    to_utc,
)
from app.web.matches.forms import RELOAD, ActionForm, ReasonForm, games_of

bp = Blueprint("match_admin", __name__)


# --- the match list ------------------------------------------------------------------------


@bp.get("/manage/t/<slug>/matches")
@requires(TOURNAMENT_STAFF)
def index(tournament: Tournament):
    """Every match of the current stage, filtered; what each waits for; bulk scheduling."""
    return pages.index(tournament)


@bp.get("/manage/t/<slug>/matches/list")
@requires(TOURNAMENT_STAFF)
def listing(tournament: Tournament):
    """The list alone (with the page's filters), fetched again when a match changes."""
    return render_template("partials/match_list.html", **pages.list_context(tournament))


@bp.post("/manage/t/<slug>/matches/schedule-round")
@requires(TOURNAMENT_STAFF)
def schedule_round(tournament: Tournament):
    """Schedule every match of one round at one time."""
    form = pages.round_form(match_list.stage(tournament))
    done, value, status = attempt(form, lambda: match_schedule.schedule_many(
        current_user, tournament, pages.round_matches(tournament, form.round.data),
        to_utc(form.when.data, tournament)))
    if not done:
        return pages.index(tournament, round_form=form, notice=value, status=status)
    flash(f"Scheduled {len(value)} match{'es' if len(value) != 1 else ''}; both sides of "
          "each were notified.", "success")
    return _to_index(tournament)


@bp.post("/manage/t/<slug>/matches/plan")
@requires(TOURNAMENT_STAFF)
def plan(tournament: Tournament):
    """The call-time plan: each wave of matches a fixed number of minutes after the last."""
    form = PlanForm()
    done, value, status = attempt(form, lambda: match_schedule.plan_call_times(
        current_user, tournament, to_utc(form.first.data, tournament), form.minutes.data,
        form.from_wave.data or 1))
    if not done:
        return pages.index(tournament, plan_form=form, notice=value, status=status)
    count = sum(len(wave.matches) for wave in value)
    flash(f"Scheduled {count} match{'es' if count != 1 else ''} in {len(value)} waves.",
          "success")
    return _to_index(tournament)


@bp.post("/manage/t/<slug>/disqualify")
@requires(TOURNAMENT_ORGANIZER)
def disqualify(tournament: Tournament):
    """Remove an entrant from the event: walkovers now and in every match they would reach."""
    form = pages.disqualify_form(match_list.stage(tournament))
    done, value, status = attempt(form, lambda: match_control.disqualify(
        current_user, tournament, pages.registration(tournament, form.registration.data),
        form.reason.data))
    if not done:
        return pages.index(tournament, disqualify_form=form, notice=value, status=status)
    flash("Disqualified: their matches are walkovers for their opponents.", "success")
    return _to_index(tournament)


# --- one match -----------------------------------------------------------------------------


@bp.get("/manage/t/<slug>/matches/<int:match_id>")
@requires(MATCH_STAFF)
def control(tournament: Tournament, match: Match):
    """Everything staff can do to this match, with its reports and evidence."""
    return pages.control(match)


@bp.get("/manage/t/<slug>/matches/<int:match_id>/controls")
@requires(MATCH_STAFF)
def controls(tournament: Tournament, match: Match):
    """The control forms alone, fetched again when the match changes."""
    return render_template("partials/match_controls.html", **pages.controls_context(match))


@bp.post("/manage/t/<slug>/matches/<int:match_id>/schedule")
@requires(MATCH_STAFF)
def schedule(tournament: Tournament, match: Match):
    """Set or change when the match is played."""
    return _act(tournament, match, ScheduleForm(prefix="schedule"),
                lambda f: match_schedule.schedule(current_user, match,
                                                  to_utc(f.when.data, tournament),
                                                  f.version.data),
        "Scheduled; both sides were notified.", "schedule_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/details")
@requires(MATCH_STAFF)
def details(tournament: Tournament, match: Match):
    """Coordinator, lobby and stream."""
    form = pages.details_form(tournament, formdata=request.form)
    return _act(tournament, match, form, lambda f: match_control.set_details(
        current_user, match, f.version.data, coordinator_id=int(f.coordinator.data)
        if f.coordinator.data else None, lobby=pages.typed_lobby(request.form),
        stream_url=f.stream_url.data), "Match details saved.", "details_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/start")
@requires(MATCH_STAFF)
def start(tournament: Tournament, match: Match):
    """READY → LIVE."""
    return _act(tournament, match, ActionForm(), lambda f: match_control.start(
        current_user, match, f.version.data), "The match is live.")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/confirm")
@requires(MATCH_STAFF)
def confirm(tournament: Tournament, match: Match):
    """Confirm the waiting report on the sides' behalf."""
    return _act(tournament, match, ActionForm(), lambda f: results.confirm(
        current_user, match, f.version.data), "Result confirmed.")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/settle")
@requires(MATCH_STAFF)
def settle(tournament: Tournament, match: Match):
    """Settle a dispute: one of its reports, or the score typed below it."""
    form = pages.settle_form(match, formdata=request.form)

    def act(f: SettleForm) -> Any:
        if f.submission.data:
            return results.settle(current_user, match, f.version.data,
                                  submission_id=int(f.submission.data), reason=f.reason.data)
        games, score = _typed_result(match, "settle-", (f.score_a.data, f.score_b.data))
        return results.settle(current_user, match, f.version.data, games=games, score=score,
                              reason=f.reason.data)

    return _act(tournament, match, form, act, "Dispute settled; the winner advances.",
                "settle_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/result")
@requires(MATCH_STAFF)
def result(tournament: Tournament, match: Match):
    """Enter (or override) the result of a match that is not finished."""
    form = ResultForm(prefix="result")

    def act(f: ResultForm) -> Any:
        games, score = _typed_result(match, "result-", (f.score_a.data, f.score_b.data))
        return results.enter_result(current_user, match, f.version.data, games=games,
                                    score=score, reason=f.reason.data or "")

    return _act(tournament, match, form, act, "Result entered; the winner advances.", "result_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/correct")
@requires(MATCH_STAFF)
def correct(tournament: Tournament, match: Match):
    """Change a finished result while nothing that follows from it has started."""
    form = CorrectForm(prefix="correct")

    def act(f: CorrectForm) -> Any:
        games, score = _typed_result(match, "correct-", (f.score_a.data, f.score_b.data))
        return results.correct(current_user, match, f.version.data, games=games, score=score,
                               reason=f.reason.data)

    return _act(tournament, match, form, act, "Result corrected; the matches after it follow.",
                "correct_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/forfeit")
@requires(MATCH_STAFF)
def forfeit(tournament: Tournament, match: Match):
    """One side (or both) forfeits, with a reason."""
    form = ForfeitForm(prefix="forfeit")

    def act(f: ForfeitForm) -> Any:
        if f.side.data == "both":
            return match_control.double_forfeit(current_user, match, f.reason.data,
                                                f.version.data)
        return match_control.forfeit(current_user, match, int(f.side.data), f.reason.data,
                                     f.version.data)

    return _act(tournament, match, form, act, "Forfeit recorded.", "forfeit_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/no-shows")
@requires(MATCH_STAFF)
def no_shows(tournament: Tournament, match: Match):
    """Past the match's time: whoever did not check in forfeits."""
    return _act(tournament, match, ActionForm(), lambda f: match_schedule.forfeit_no_shows(
        current_user, match, f.version.data), "No-shows forfeited.")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/cancel")
@requires(MATCH_STAFF)
def cancel(tournament: Tournament, match: Match):
    """The match will not be played: nobody advances from it."""
    return _act(tournament, match, ReasonForm(prefix="cancel"), lambda f: match_control.cancel(
        current_user, match, f.reason.data, f.version.data), "Match cancelled.", "cancel_form")


@bp.post("/manage/t/<slug>/matches/<int:match_id>/reset")
@requires(MATCH_STAFF)
def reset(tournament: Tournament, match: Match):
    """Put the match back to ready, undoing its result (nothing after it may have started)."""
    return _act(tournament, match, ReasonForm(prefix="reset"), lambda f: match_control.reset(
        current_user, match, f.reason.data, f.version.data),
        "Match reset: it can be played again.", "reset_form")


# --- the steps every action shares ---------------------------------------------------------


def _typed_result(match: Match, prefix: str, wins: tuple[int | None, int | None],
                  ) -> tuple[list | None, tuple | None]:
    """The result typed on a staff form: games when any were typed, else the game wins."""
    typed = games_of({k.removeprefix(prefix): v for k, v in request.form.items()},
                     match.best_of)
    if typed.games and not typed.error:
        return typed.games, None
    if any(typed.typed.values()):
        raise Invalid(typed.error or "Check the games typed.", {"games": typed.error or ""})
    if wins[0] is None or wins[1] is None:
        raise Invalid("Enter the score game by game, or the game wins of both sides.")
    return None, (wins[0], wins[1])


def _act(tournament: Tournament, match: Match, form: Any, action: Callable[[Any], Any],
         said: str, name: str | None = None):
    """Run a staff action; on a refusal show the control page again, saying why."""
    return versioned_action(
        form, lambda: action(form), said=said,
        target=url_for("match_admin.control", slug=tournament.slug, match_id=match.id),
        page=lambda **shown: pages.control(match, **shown),
        kept={name: form} if name else {}, reload=RELOAD)


def _to_index(tournament: Tournament):
    return redirect(url_for("match_admin.index", slug=tournament.slug, **request.args), 303)
