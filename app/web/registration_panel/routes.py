"""The organizer's registration panel: table, filters, bulk actions, no-shows and CSV."""

from __future__ import annotations

from datetime import datetime
from itertools import chain

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import RegistrationStatus, Tournament
from app.services import checkin, entrants, registration_panel
from app.services.errors import Conflict, DomainError, Invalid
from app.web.access import TOURNAMENT_STAFF, requires
from app.web.errors import error_response
from app.web.forms import apply_errors
from app.web.registration_panel import export as csv_export
from app.web.registration_panel.forms import (
    PAYMENT_LABELS,
    STATUS_LABELS,
    BulkForm,
    FilterForm,
)

bp = Blueprint("registration_panel", __name__, url_prefix="/manage/t/<slug>")


@bp.get("/registrations")
@requires(TOURNAMENT_STAFF)
def index(tournament: Tournament):
    """The tournament's registrations: counters, filters, search and bulk actions."""
    filters = FilterForm(formdata=request.args)
    return _page(tournament, filters, status=200 if filters.validate() else 400)


@bp.get("/registrations.csv")
@requires(TOURNAMENT_STAFF)
def export(tournament: Tournament):
    """The filtered registrations as a streamed CSV download."""
    filters = FilterForm(formdata=request.args)
    if not filters.validate():
        return error_response(400, "This filter is not valid; nothing to export.")
    rows = registration_panel.export(tournament, filters.filters())
    # The header needs no database: it goes out at once, and the rows (which do) are read
    # in batches inside the request's context while the download runs.
    body = chain([csv_export.header()], stream_with_context(csv_export.lines(rows)))
    name = f"{tournament.slug}-registrations.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@bp.post("/registrations/bulk")
@requires(TOURNAMENT_STAFF)
def bulk(tournament: Tournament):
    """Check in, check out, remove or reinstate the selected registrations, all or nothing."""
    filters, form = FilterForm(formdata=request.args), BulkForm()
    filters.validate()
    if not form.validate_on_submit():
        return _page(tournament, filters, form=form, status=400)
    try:
        done = registration_panel.apply_bulk(current_user, tournament, form.action.data,
                                             form.selection(), form.reason.data)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        error = Conflict("A selected registration changed at the same moment; nothing was "
                         "changed. Here is its current state.")
        return _page(tournament, filters, form=form, error=error, status=409)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, Invalid):
            apply_errors(form, error)
        return _page(tournament, filters, form=form, error=error, status=error.status)
    flash(_done_message(form.action.data, done), "success")
    return redirect(url_for(".index", slug=tournament.slug, **filters.args(page=True)), 303)


@bp.post("/registrations/no-shows")
@requires(TOURNAMENT_STAFF)
def remove_no_shows(tournament: Tournament):
    """Remove every slot holder that did not check in (after check-in closed)."""
    filters = FilterForm(formdata=request.args)
    filters.validate()
    try:
        count = checkin.remove_no_shows(current_user, tournament)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _page(tournament, filters, error=error, status=error.status)
    flash(f"Removed {count} no-show{'s' if count != 1 else ''}." if count
          else "There were no no-shows to remove.", "success")
    return redirect(url_for(".index", slug=tournament.slug, **filters.args(page=True)), 303)


def _done_message(action: str, result: registration_panel.BulkResult) -> str:
    done = registration_panel.BULK_ACTIONS[action].done
    count, unchanged = len(result.changed), len(result.unchanged)
    if not count:  # e.g. the same form sent twice
        return (f"The selected registration{'s were' if unchanged != 1 else ' was'} {done} "
                "already; nothing changed.")
    text = f"{count} registration{'s' if count != 1 else ''} {done}"
    waiting = sum(1 for reg in result.changed if reg.status == RegistrationStatus.WAITLISTED)
    if action == "reinstate" and waiting:
        text += f" ({waiting} to the waitlist: no free slot)"
    if unchanged:
        text += f"; {unchanged} already {'was' if unchanged == 1 else 'were'}"
    return text + "."


def _page(tournament: Tournament, filters: FilterForm, *, form: BulkForm | None = None,
          error: DomainError | None = None, status: int = 200):
    valid = not filters.errors
    table = (registration_panel.table(tournament, filters.filters(), filters.page.data or 1)
             if valid else registration_panel.TablePage([], 0, 1, 1))
    per_status = registration_panel.status_counts(tournament)
    filters.status.choices = [("", "All statuses"), *(
        (s.value, f"{label} ({per_status[s]})") for s, label in STATUS_LABELS.items())]
    refusals = getattr(error, "refusals", [])
    closes = checkin.window(tournament)[1]
    return render_template(
        "pages/registration_panel/index.html", tournament=tournament, filters=filters,
        filters_valid=valid, table=table, counts=entrants.counts(tournament),
        form=form or BulkForm(formdata=None), refusals=refusals,
        # Bad input shows on the bulk form itself; anything else in a notice above it.
        notice=None if form is not None and isinstance(error, Invalid) else error,
        refused={r.registration_id: r.message for r in refusals},
        selected=set(form.selection()) if form else set(),
        actions=registration_panel.BULK_ACTIONS, status_labels=STATUS_LABELS,
        payment_labels=PAYMENT_LABELS, short_time=short_time, checkin_closes_at=closes,
        checkin_closed=checkin.closed(tournament),
    ), status


def short_time(moment: datetime) -> Markup:
    """A compact <time> for table cells; static/js/app.js shows it in the viewer's zone."""
    return Markup('<time datetime="{}" data-local="short">{}</time>').format(
        moment.isoformat(), moment.strftime("%d %b, %H:%M UTC"))
