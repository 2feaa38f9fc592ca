"""Form plumbing shared by blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.services.errors import Invalid


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
