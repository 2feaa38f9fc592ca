"""Form plumbing shared by blueprints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import flash, redirect
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.errors import Conflict, DomainError, Invalid

T = TypeVar("T")
# A unique constraint caught what the service's own checks could not see: a concurrent twin.
RACE_MESSAGE = ("Someone made the same change at the same moment; nothing of yours was saved. "
                "Check the form and try again.")


def apply_errors(form: FlaskForm, error: Invalid) -> None:
    """Show a service's field errors on the form (unknown fields become form errors)."""
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    if not error.fields:
        form.form_errors.append(error.message)


@dataclass
class Submission(Generic[T]):
    """What became of a submitted form: `ok` with the action's `value`, or errors on the form."""

    ok: bool
    value: T | None = None


def submit(form: FlaskForm, action: Callable[[], T]) -> Submission[T]:
    """Validate `form`, run `action` and commit; on refusal, roll back and show why."""
    if not form.validate_on_submit():
        return Submission(False)
    try:
        value = action()
        db.session.commit()
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return Submission(False)
    except IntegrityError:
        db.session.rollback()
        form.form_errors.append(RACE_MESSAGE)
        return Submission(False)
    return Submission(True, value)


def attempt(form: FlaskForm, action: Callable[[], T], *,
            refusals: tuple[type[DomainError], ...] = (Invalid, Conflict),
            ) -> tuple[bool, T | DomainError | None, int]:
    """Like `submit`, but hand a refusal back with its HTTP status, for the page to explain.

    Returns (done, value, status): the action's value and 200 when it committed; otherwise
    the refusal — the service's error, a Conflict for a concurrent twin caught by a unique
    constraint, or None when the form itself did not validate (400) — and its status. An
    Invalid's field errors land on the form; the caller decides where other refusals show.
    """
    if not form.validate_on_submit():
        return False, None, 400
    try:
        value = action()
        db.session.commit()
    except refusals as error:
        db.session.rollback()
        if isinstance(error, Invalid):
            apply_errors(form, error)
        return False, error, error.status
    except IntegrityError:
        db.session.rollback()
        return False, Conflict(RACE_MESSAGE), 409
    return True, value, 200


def versioned_action(form: FlaskForm, action: Callable[[], T], *, said: str, target: str,
                     page: Callable[..., Any], kept: dict[str, Any],
                     refusals: tuple[type[DomainError], ...] = (Invalid, Conflict),
                     reload: str = ""):
    """Run an action on a versioned object from its page, the way every such form does.

    Done: flash `said` and redirect to `target` (computed by the caller before the commit,
    which expires what it read). A form without its version: the page with `reload` as the
    notice. A conflict (409): the page as the object is now, with fresh forms. Any other
    refusal: the page with `kept` (the forms as typed) and the reason beside its field, or
    above the page when it belongs to no field. `page(status=, notice=, **kept)` renders.
    """
    done, value, status = attempt(form, action, refusals=refusals)
    if done:
        if said:  # (empty: the target page says it, e.g. from its URL; no session write)
            flash(said, "success")
        return redirect(target, 303)
    if value is None and form.version.errors:  # no version: not sent from our page
        return page(status=status, notice=Invalid(reload))
    kept = kept if status != 409 else {}
    on_form = value is None or (isinstance(value, Invalid) and bool(value.fields) and kept)
    return page(status=status, notice=None if on_form else value, **kept)
