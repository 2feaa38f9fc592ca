"""Forms of the staff pages: staff changes and the audit log filter."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.services.staff import ROLE_LABELS

ROLE_CHOICES = [(role.value, label) for role, label in reversed(ROLE_LABELS.items())]


class AddStaffForm(FlaskForm):
    username = StringField(
        "Username", [InputRequired("Enter a username."), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="coordinator")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class AuditFilterForm(FlaskForm):
    """The log filter, read from the query string (a GET form changes nothing: no CSRF)."""

    class Meta:
        csrf = False

    # Choices are the actions present in this tournament's log, set by the view.
    action = SelectField("Action", choices=[("", "All actions")], validate_choice=False)
    actor = StringField("Actor", [Optional(), Length(max=64)],
                        render_kw={"autocapitalize": "none", "spellcheck": "false",
                                   "placeholder": "username", "list": "audit-actors"})
    before = IntegerField("Older than", [Optional(), NumberRange(min=1)])
