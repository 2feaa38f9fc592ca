"""Forms of the site administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import LOBBY_FIELDS
from app.services.games import MAX_NAME, MAX_TEAM_SIZE, MIN_TEAM_SIZE


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
