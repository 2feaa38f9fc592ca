"""Staff forms: schedule (one, a round, a call-time plan), details, results, walkovers, resets.

Times are typed in the tournament's own time zone (as on its settings page) and stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.models import LOBBY_FIELDS, MatchState, Tournament
from app.services.match_actions import REASON_MAX
from app.services.match_schedule import MAX_INTERVAL_MINUTES
from app.web.matches.forms import ActionForm, ReasonForm
from app.web.matches.view import STATE_LABELS

TIME_FORMAT = "%Y-%m-%dT%H:%M"
OPTIONAL_REASON = [Optional(), Length(max=REASON_MAX, message=f"At most {REASON_MAX} "
                                                              "characters.")]


def zone_of(tournament: Tournament) -> ZoneInfo:
    name = tournament.timezone
    return ZoneInfo(name if name in available_timezones() else "UTC")


def to_utc(value: datetime, tournament: Tournament) -> datetime:
    return value.replace(tzinfo=zone_of(tournament)).astimezone(UTC)


def to_local(value: datetime | None, tournament: Tournament) -> datetime | None:
    return value.astimezone(zone_of(tournament)).replace(tzinfo=None) if value else None


class ScheduleForm(ActionForm):
    when = DateTimeLocalField("Time", [InputRequired("Choose the date and time.")],
                              format=TIME_FORMAT)


class DetailsForm(ActionForm):
    coordinator = SelectField("Coordinator", default="")
    stream_url = StringField("Stream link", [Optional(), Length(max=300)])

    def for_tournament(self, tournament: Tournament, staff: list) -> DetailsForm:
        self.coordinator.choices = [("", "Nobody")] + [(str(u.id), u.display_name)
                                                       for u in staff]
        return self


def lobby_fields(tournament: Tournament) -> list[tuple[str, str]]:
    """The game's lobby fields as (name, label), typed as `lobby-<name>` on the form."""
    return [(name, LOBBY_FIELDS.get(name, name)) for name in tournament.game.lobby_fields or []]


class ResultForm(ActionForm):
    """Staff enter a result: game by game (`game-N-a`/`-b`) or as game wins only."""

    score_a = IntegerField("Game wins, side A", [Optional(), NumberRange(min=0)])
    score_b = IntegerField("Game wins, side B", [Optional(), NumberRange(min=0)])
    reason = TextAreaField("Note (optional; shown on the timeline)", OPTIONAL_REASON)


class CorrectForm(ResultForm):
    reason = TextAreaField("Why the result changes", [
        InputRequired("Say why the result changes; both sides see it."),
        Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")])


class SettleForm(ResultForm):
    """Pick one of the disputed reports, or type the final score as on `ResultForm`."""

    submission = SelectField("Choose a report", default="")


class ForfeitForm(ReasonForm):
    side = SelectField("Who forfeits", choices=[("0", "Side A"), ("1", "Side B"),
                                                ("both", "Both sides")])


class ScheduleRoundForm(FlaskForm):
    round = SelectField("Round", [InputRequired("Choose a round.")])
    when = DateTimeLocalField("Time", [InputRequired("Choose the date and time.")],
                              format=TIME_FORMAT)


class PlanForm(FlaskForm):
    first = DateTimeLocalField("First wave at", [InputRequired("Choose the date and time.")],
                               format=TIME_FORMAT)
    minutes = IntegerField("Minutes between waves", [
        InputRequired("How many minutes between waves?"),
        NumberRange(1, MAX_INTERVAL_MINUTES)], default=30)
    from_wave = IntegerField("Starting from wave", [Optional(), NumberRange(min=1)], default=1)


class DisqualifyForm(FlaskForm):
    registration = SelectField("Entrant", [InputRequired("Choose the entrant.")])
    reason = TextAreaField("Reason", [
        InputRequired("Give a reason; it is shown to the entrants concerned."),
        Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")])


class ListFilters(FlaskForm):
    """The match list's filters (GET, so no CSRF)."""

    class Meta:
        csrf = False

    round = SelectField("Round", default="")
    state = SelectField("State", default="", choices=[("", "Any state")] + [
        (s.value, label) for s, label in STATE_LABELS.items() if s != MatchState.PENDING] + [
        (MatchState.PENDING.value, STATE_LABELS[MatchState.PENDING])])
    coordinator = SelectField("Coordinator", default="")
    q = StringField("Entrant", [Optional(), Length(max=80)])
