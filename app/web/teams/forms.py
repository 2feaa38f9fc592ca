"""Team forms: create, invite, transfer captaincy, disband, and bare action buttons."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

TOO_LONG = "Use at most 64 characters."


class CreateTeamForm(FlaskForm):
    name = StringField("Team name",
                       [InputRequired("Enter a team name."), Length(max=64, message=TOO_LONG)],
                       render_kw={"autocomplete": "off", "maxlength": 64})


class InviteForm(FlaskForm):
    username = StringField(
        "Username",
        [InputRequired("Enter the username of the player to invite."),
         Length(max=64, message=TOO_LONG)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false",
                   "placeholder": "e.g. player42"},
    )


class TransferForm(FlaskForm):
    # The service says clearly when the choice is not a member, so WTForms need not check it.
    new_captain = SelectField("New captain",
                              [InputRequired("Choose the member who becomes captain.")],
                              validate_choice=False)


class DisbandForm(FlaskForm):
    confirm = BooleanField("I understand: the team is disbanded for good and its pending "
                           "invitations are cancelled.",
                           [DataRequired("Tick the box to confirm; nothing was changed.")])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
