"""The match page (everyone), the two sides' actions on it, "my matches" and notifications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Match, Tournament
from app.services import match_control, notifications, player_matches, results, uploads
from app.services import match_progression as progression
from app.services.errors import Conflict, Invalid
from app.web.access import MATCH_PLAYER, MATCH_VIEWER, SIGNED_IN, requires
from app.web.forms import attempt, versioned_action
from app.web.matches import view
from app.web.matches.forms import RELOAD, ActionForm, ReasonForm, ReportForm, games_of

bp = Blueprint("matches", __name__)
# What the match page says after a side's action (`?done=`): fixed texts, never the URL's.
DONE = {"checked-in": "You are checked in.", "started": "The match is live. Good luck!",
        "reported": "Score reported: your opponent confirms it.",
        "confirmed": "Result confirmed.",
        "rejected": "Report rejected; the staff will settle the result."}
bp.add_app_template_global(view.STATE_LABELS, "state_labels")


@bp.get("/t/<slug>/m/<int:match_id>")
@requires(MATCH_VIEWER)
def show(tournament: Tournament, match: Match):
    """The match: its sides, state, score and timeline; a side's forms; live."""
    return page(match, done=DONE.get(request.args.get("done", "")))


@bp.get("/t/<slug>/m/<int:match_id>/seat")
@requires(MATCH_VIEWER)
def seat(tournament: Tournament, match: Match):
    """The viewer's own part of the page, fetched again when the match changes."""
    return render_template("partials/match_seat.html", **_seat_context(match))


@bp.post("/t/<slug>/m/<int:match_id>/check-in")
@requires(MATCH_PLAYER)
def check_in(tournament: Tournament, match: Match):
    """A side says it is here."""
    return _act(tournament, match, ActionForm(), lambda f: match_control.check_in(
        current_user, match, f.version.data), "checked-in")


@bp.post("/t/<slug>/m/<int:match_id>/start")
@requires(MATCH_PLAYER)
def start(tournament: Tournament, match: Match):
    """Both sides are here: the match is live."""
    return _act(tournament, match, ActionForm(), lambda f: match_control.start(
        current_user, match, f.version.data), "started")


@bp.post("/t/<slug>/m/<int:match_id>/report")
@requires(MATCH_PLAYER)
def report(tournament: Tournament, match: Match):
    """A side reports the score game by game, with optional evidence."""
    form, typed = ReportForm(), games_of(request.form, match.best_of)

    def act(f: ReportForm) -> Any:
        if typed.error:
            raise Invalid(typed.error, {"games": typed.error})
        shots = [uploads.read(file, results.SCREENSHOT_KINDS, field="screenshots")
                 for file in f.files()[:results.MAX_SCREENSHOTS + 1]]
        return results.report(current_user, match, typed.games, f.version.data,
                              links=f.link_list(), screenshots=shots)

    return _act(tournament, match, form, act, "reported", refusals=(uploads.TooLarge,),
                typed=typed)


@bp.post("/t/<slug>/m/<int:match_id>/confirm")
@requires(MATCH_PLAYER)
def confirm(tournament: Tournament, match: Match):
    """The opponent confirms the reported score: the result is final."""
    return _act(tournament, match, ActionForm(), lambda f: results.confirm(
        current_user, match, f.version.data), "confirmed")


@bp.post("/t/<slug>/m/<int:match_id>/reject")
@requires(MATCH_PLAYER)
def reject(tournament: Tournament, match: Match):
    """The opponent rejects the reported score with a reason: the staff settle it."""
    return _act(tournament, match, ReasonForm(prefix="reject"), lambda f: results.reject(
        current_user, match, f.reason.data, f.version.data), "rejected")


@bp.get("/t/<slug>/m/<int:match_id>/evidence/<int:submission_id>/<int:index>")
@requires(MATCH_PLAYER)
def evidence(tournament: Tournament, match: Match, submission_id: int, index: int):
    """A report's screenshot, for the two sides and staff."""
    path, kind = results.evidence_file(current_user, match, submission_id, index)
    response = send_file(path, mimetype=kind.content_type, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- a player's own pages ---------------------------------------------------------------------


@bp.get("/me/matches")
@requires(SIGNED_IN)
def mine():
    """Every match the viewer plays in, across tournaments: what to do next first."""
    return render_template("pages/matches/mine.html", **_mine_context())


@bp.get("/me/matches/list")
@requires(SIGNED_IN)
def mine_list():
    """The list of "my matches" alone, fetched again when one of them changes."""
    return render_template("partials/my_matches.html", **_mine_context())


@bp.get("/me/notifications")
@requires(SIGNED_IN)
def notices():
    """The viewer's notifications, newest first."""
    return render_template("pages/matches/notifications.html",
                           notices=notifications.recent(current_user), form=ActionForm())


@bp.post("/me/notifications/read")
@requires(SIGNED_IN)
def notices_read():
    """Mark the notifications the page showed as read (a repeat changes nothing)."""
    form = ActionForm()
    done, _value, status = attempt(form, lambda: notifications.mark_read(
        current_user, form.version.data))
    if not done:
        flash(RELOAD, "error")
    return redirect(url_for("matches.notices"), 303)


# --- the steps every action shares ---------------------------------------------------------


def page(match: Match, *, status: int = 200, notice: Any = None, done: str | None = None,
         **forms: Any):
    """The match page; after a refused form, with its errors and the match as it is now;
    after a side's action, saying it was done (`done`)."""
    return render_template("pages/matches/match.html", panel=view.panel(match),
                           notice=notice, done=done, **_seat_context(match, **forms)), status


def _seat_context(match: Match, **forms: Any) -> dict[str, Any]:
    empty = {"version": match.version}
    context = {"match": match, "slug": match_slug(match), "seat": view.seat(match, current_user),
               "action_form": ActionForm(formdata=None, data=empty),
               "report_form": ReportForm(formdata=None, data=empty),
               "reject_form": ReasonForm(formdata=None, data=empty, prefix="reject"),
               "typed": {}}
    context.update(forms)
    return context


def _act(tournament: Tournament, match: Match, form: Any, action: Callable[[Any], Any],
         done: str, *, refusals: tuple = (), typed: Any = None):
    """Run a side's action; on a refusal show the page again, saying why, with the form.

    Done: the page it redirects to says so from its URL (`DONE`), not from a flash message,
    which would write the session cookie on this answer and again on the page's.
    """
    return versioned_action(
        form, lambda: action(form), said="", refusals=(Invalid, Conflict, *refusals),
        target=url_for("matches.show", slug=tournament.slug, match_id=match.id, done=done),
        page=lambda **shown: page(match, **shown), kept=_kept(form, typed), reload=RELOAD)


def _kept(form: Any, typed: Any) -> dict[str, Any]:
    """The refused form, to show again with what was typed and its errors."""
    if isinstance(form, ReportForm):
        return {"report_form": form, "typed": typed.typed if typed else {}}
    if isinstance(form, ReasonForm):
        return {"reject_form": form}
    return {}


def match_slug(match: Match) -> str:
    return db.session.get(Tournament, match.tournament_id).slug


def _mine_context() -> dict[str, Any]:
    rows = player_matches.of(current_user)
    return {"rows": rows, "rooms": player_matches.rooms(rows)}


@bp.get("/m/<int:match_id>")
@requires(SIGNED_IN)
def go(match: Match):
    """A short link to a match (notifications): its page, where access is checked."""
    return redirect(url_for("matches.show", slug=match_slug(match), match_id=match.id))


@bp.app_template_global()
def champion_of(tournament: Tournament):
    """The winner of a completed tournament (None while it is not over)."""
    return progression.champion(tournament)


@bp.app_template_global()
def unread_notices() -> int:
    """How many notifications the signed-in viewer has not read (the header's badge)."""
    return notifications.unread(current_user) if current_user.is_authenticated else 0
