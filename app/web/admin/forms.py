"""Forms of the site administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import LOBBY_FIELDS
from app.services.games import MAX_NAME, MAX_TEAM_SIZE, MIN_TEAM_SIZE
from app.services.ledger import MAX_GRANT, MAX_MEMO


def _team_size_in_range(form: FlaskForm, field: IntegerField) -> None:
    # Silent when the value is not a number: that error is already shown.
    if field.data is not None and not MIN_TEAM_SIZE <= field.data <= MAX_TEAM_SIZE:
        raise ValidationError(f"Team size is a number from {MIN_TEAM_SIZE} to {MAX_TEAM_SIZE}.")


class GameForm(FlaskForm):
    name = StringField("Name", [InputRequired("Enter the game's name."), Length(1, MAX_NAME)])
    team_size = IntegerField(
        "Team size",
        [InputRequired("Enter a team size."), _team_size_in_range],
        render_kw={"min": MIN_TEAM_SIZE, "max": MAX_TEAM_SIZE, "inputmode": "numeric"},
    )
    lobby_fields = SelectMultipleField(
        "Lobby fields its matches carry", choices=list(LOBBY_FIELDS.items()),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )


def _squeeze(value: str | None) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) else value


def _grant_in_range(form: FlaskForm, field: IntegerField) -> None:
    # Silent when the value is not a whole number: that error is already shown.
    if field.data is not None and not 1 <= field.data <= MAX_GRANT:
        raise ValidationError(f"Grant a whole number of coins from 1 to {MAX_GRANT:,}.")


class GrantForm(FlaskForm):
    # One random key per rendered form: submitting it twice grants once.
    request_key = HiddenField()
    username = StringField(
        "Username", [DataRequired("Enter the username of the player to give coins to."),
                     Length(max=64)],
        filters=[_squeeze],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    amount = IntegerField(
        "Coins",
        [InputRequired("Enter how many coins to grant."), _grant_in_range],
        render_kw={"min": 1, "max": MAX_GRANT, "inputmode": "numeric"},
    )
    reason = TextAreaField(
        "Reason", [DataRequired("Say why these coins are granted."), Length(max=MAX_MEMO)],
        filters=[_squeeze], render_kw={"maxlength": MAX_MEMO, "rows": 2},
    )
