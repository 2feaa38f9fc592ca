"""Registration forms: a team's roster, and bare buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (the template lays them out itself)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TeamRegistrationForm(FlaskForm):
    # The service says clearly who is not a member or is registered elsewhere, so WTForms
    # need not check the choices.
    players = MultiCheckboxField("Players", coerce=int, validate_choice=False)
    substitutes = MultiCheckboxField("Substitutes", coerce=int, validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
