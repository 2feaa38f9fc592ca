"""Tournament staff management and the tournament audit log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Tournament
from app.services import audit_log, permissions, staff
from app.services.errors import Conflict, Invalid, NotFound
from app.web.access import TOURNAMENT_ORGANIZER, TOURNAMENT_STAFF, requires
from app.web.forms import submit
from app.web.staff.forms import AddStaffForm, AuditFilterForm, RoleForm

bp = Blueprint("staff", __name__, url_prefix="/manage/t/<slug>")


@bp.get("/staff")
@requires(TOURNAMENT_STAFF)
def index(tournament: Tournament):
    """The tournament's organizers and coordinators."""
    return _staff_page(tournament)


@bp.post("/staff")
@requires(TOURNAMENT_ORGANIZER)
def add(tournament: Tournament):
    """Add a user to the staff by username."""
    form = AddStaffForm()
    done = submit(form, lambda: staff.add(current_user, tournament, form.username.data,
                                          form.role.data))
    if done.ok:
        member = done.value
        flash(f"{member.user.display_name} is now {_role_phrase(member.role)}.", "success")
        return _back(tournament)
    return _staff_page(tournament, add_form=form, status=400)


@bp.post("/staff/<int:staff_id>/role")
@requires(TOURNAMENT_ORGANIZER)
def change_role(tournament: Tournament, staff_id: int):
    """Make a staff member an organizer or a coordinator."""
    form = RoleForm()
    if not form.validate_on_submit():
        return _staff_page(tournament, row_error=(staff_id, form.role.errors[0]), status=400)
    try:
        member = staff.change_role(current_user, tournament, staff_id, form.role.data)
        db.session.commit()
    except (Invalid, Conflict) as error:
        db.session.rollback()
        return _staff_page(tournament, row_error=(staff_id, error.message), status=error.status)
    flash(f"{member.user.display_name} is now {_role_phrase(member.role)}.", "success")
    return _back(tournament)


@bp.post("/staff/<int:staff_id>/remove")
@requires(TOURNAMENT_ORGANIZER)
def remove(tournament: Tournament, staff_id: int):
    """Take someone off the staff (the last organizer stays)."""
    try:
        name = staff.remove(current_user, tournament, staff_id).user.display_name
        db.session.commit()
    except NotFound as error:  # e.g. the button pressed twice: already gone
        db.session.rollback()
        flash(f"{error.message} Nothing was changed.", "info")
        return _back(tournament)
    except Conflict as error:
        db.session.rollback()
        return _staff_page(tournament, row_error=(staff_id, error.message), status=error.status)
    flash(f"{name} was removed from the staff.", "success")
    return _back(tournament)


@bp.get("/audit")
@requires(TOURNAMENT_STAFF)
def audit(tournament: Tournament):
    """The tournament's audit log, newest first, filterable by action and actor."""
    form = AuditFilterForm(formdata=request.args)
    form.action.choices = [("", "All actions"), *((a, a) for a in audit_log.actions(tournament))]
    if not form.validate():
        return _audit_page(tournament, form, audit_log.LogPage([], None), 400)
    entries = audit_log.page(tournament, action=form.action.data or None,
                             actor=form.actor.data or None, before=form.before.data)
    return _audit_page(tournament, form, entries)


def _role_phrase(role) -> str:
    return f"{'an' if role.value[0] in 'aeiou' else 'a'} {staff.ROLE_LABELS[role].lower()}"


def _back(tournament: Tournament):
    """To the staff page, or away from it when the user just left the staff."""
    if permissions.can_coordinate(current_user, tournament):
        return redirect(url_for("staff.index", slug=tournament.slug), 303)
    return redirect(url_for("organizer.dashboard"), 303)


def _staff_page(tournament: Tournament, *, add_form: AddStaffForm | None = None,
                row_error: tuple[int, str] | None = None, status: int = 200):
    return render_template(
        "pages/staff/index.html", tournament=tournament, members=staff.list_staff(tournament),
        can_manage=permissions.can_manage(current_user, tournament),
        add_form=add_form or AddStaffForm(formdata=None), roles=staff.ROLE_LABELS,
        row_error=row_error,
    ), status


def _audit_page(tournament: Tournament, form: AuditFilterForm, entries: audit_log.LogPage,
                status: int = 200):
    return render_template(
        "pages/staff/audit.html", tournament=tournament, form=form, page=entries,
        actors=audit_log.actors(tournament), summarize=audit_log.summarize,
    ), status
