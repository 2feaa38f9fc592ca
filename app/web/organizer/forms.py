"""The tournament form, and its conversion to and from the service's input."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.extensions import db
from app.models import Format, Game, GrandFinal, PrizeMode, Tournament, Visibility
from app.services.tournaments import TournamentInput, parse_best_of_by_round, parse_distribution

FORMAT_LABELS = {
    Format.SINGLE_ELIMINATION: "Single elimination",
    Format.DOUBLE_ELIMINATION: "Double elimination",
    Format.ROUND_ROBIN: "Round robin",
    Format.SWISS: "Swiss",
}
VISIBILITY_LABELS = {
    Visibility.PUBLIC: "Public — listed on the front page",
    Visibility.UNLISTED: "Unlisted — anyone with the link",
    Visibility.PRIVATE: "Private — staff and participants only",
}
GRAND_FINAL_LABELS = {
    GrandFinal.NONE: "None (losers-bracket champion places 2nd)",
    GrandFinal.SINGLE: "Single match",
    GrandFinal.RESET: "With bracket reset",
}
BEST_OF = [(n, f"Best of {n}") for n in (1, 3, 5, 7, 9)]
TIME_FORMAT = "%Y-%m-%dT%H:%M"
TIME_FIELDS = ("registration_opens_at", "registration_closes_at", "checkin_opens_at",
               "checkin_closes_at", "starts_at")


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return [("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]


def _when(label: str, required: bool = False) -> DateTimeLocalField:
    return DateTimeLocalField(label, [InputRequired() if required else Optional()],
                              format=TIME_FORMAT)


class TournamentForm(FlaskForm):
    request_key = HiddenField()
    version = HiddenField()
    name = StringField("Name", [InputRequired(), Length(3, 120)])
    slug = StringField("Address", [Optional(), Length(max=64)])
    description = TextAreaField("Description and rules text", [Optional(), Length(max=5000)])
    game = SelectField("Game", coerce=int)
    format = SelectField("Format", choices=[(f.value, label) for f, label in FORMAT_LABELS.items()])
    team_based = SelectField("Entrants", choices=[("solo", "Players (solo)"), ("team", "Teams")])
    capacity = IntegerField("Capacity", [InputRequired(), NumberRange(2, 4096)], default=16)
    visibility = SelectField("Visibility",
                             choices=[(v.value, label) for v, label in VISIBILITY_LABELS.items()])
    timezone = SelectField("Time zone of the times below", default="UTC")
    starts_at = _when("Start", required=True)
    registration_opens_at = _when("Registration opens")
    registration_closes_at = _when("Registration closes")
    checkin_opens_at = _when("Check-in opens")
    checkin_closes_at = _when("Check-in closes")
    best_of = SelectField("Matches", coerce=int, choices=BEST_OF, default=1)
    best_of_finals = SelectField("Finals", coerce=int, choices=BEST_OF, default=3)
    best_of_by_round = StringField("Per-round best-of", [Optional(), Length(max=200)])
    third_place_match = BooleanField("Third-place match")
    grand_final = SelectField("Grand final (double elimination)", default="single",
                              choices=[(g.value, label) for g, label in GRAND_FINAL_LABELS.items()])
    auto_confirm_hours = IntegerField("Auto-confirm results after (hours)",
                                      [InputRequired(), NumberRange(1, 168)], default=24)
    match_checkin = BooleanField("Players check in to each match", default=True)
    match_checkin_minutes = IntegerField("Match check-in opens (minutes before each match)",
                                         [InputRequired(), NumberRange(0, 24 * 60)], default=15)
    auto_forfeit_no_shows = BooleanField("Forfeit no-shows automatically at the match's time")
    entry_fee = IntegerField("Entry fee (coins)", [InputRequired(), NumberRange(0, 1_000_000)],
                             default=0)
    prize_pool = IntegerField("Prize pool (coins)", [InputRequired(), NumberRange(0, 100_000_000)],
                              default=0)
    prize_mode = SelectField("Prizes are", default="percent",
                             choices=[("percent", "Percentages of the pool"),
                                      ("fixed", "Fixed amounts")])
    prize_distribution = StringField("Prize per place, first place first", [Optional(),
                                                                            Length(max=500)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        games = db.session.scalars(select(Game).order_by(Game.name))
        self.game.choices = [(g.id, f"{g.name} ({g.team_size}v{g.team_size})") for g in games]
        self.timezone.choices = timezone_choices()


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name if name in available_timezones() else "UTC")


def to_input(form: TournamentForm) -> TournamentInput:
    """Read the form into the service's input (raises Invalid for unparseable text fields)."""
    zone = _zone(form.timezone.data)
    times = {name: _to_utc(getattr(form, name).data, zone) for name in TIME_FIELDS}
    return TournamentInput(
        name=form.name.data or "", slug=(form.slug.data or "").strip().lower(),
        description=form.description.data or "", game_id=form.game.data,
        format=Format(form.format.data), team_based=form.team_based.data == "team",
        capacity=form.capacity.data, visibility=Visibility(form.visibility.data),
        timezone=zone.key, **times,
        best_of=form.best_of.data, best_of_finals=form.best_of_finals.data,
        best_of_by_round=parse_best_of_by_round(form.best_of_by_round.data or ""),
        third_place_match=form.third_place_match.data,
        grand_final=GrandFinal(form.grand_final.data),
        auto_confirm_hours=form.auto_confirm_hours.data,
        match_checkin=form.match_checkin.data,
        match_checkin_minutes=form.match_checkin_minutes.data,
        auto_forfeit_no_shows=form.auto_forfeit_no_shows.data, entry_fee=form.entry_fee.data,
        prize_pool=form.prize_pool.data, prize_mode=PrizeMode(form.prize_mode.data),
        prize_distribution=parse_distribution(form.prize_distribution.data or ""),
    )


def fill_from(form: TournamentForm, tournament: Tournament) -> None:
    """Show a tournament's settings in the form, times in its own zone."""
    zone = _zone(tournament.timezone)
    for name in ("name", "slug", "description", "capacity", "best_of", "best_of_finals",
                 "third_place_match", "auto_confirm_hours", "match_checkin",
                 "match_checkin_minutes", "auto_forfeit_no_shows", "entry_fee", "prize_pool"):
        getattr(form, name).data = getattr(tournament, name)
    form.game.data = tournament.game_id
    form.format.data = tournament.format.value
    form.team_based.data = "team" if tournament.team_based else "solo"
    form.visibility.data = tournament.visibility.value
    form.grand_final.data = tournament.grand_final.value
    form.prize_mode.data = tournament.prize_mode.value
    form.timezone.data = zone.key
    for name in TIME_FIELDS:
        value = getattr(tournament, name)
        getattr(form, name).data = value.astimezone(zone).replace(tzinfo=None) if value else None
    form.best_of_by_round.data = ", ".join(f"{r}:{b}" for r, b in
                                           sorted(tournament.best_of_by_round.items(),
                                                  key=lambda item: int(item[0])))
    form.prize_distribution.data = ", ".join(map(str, tournament.prize_distribution))


def _to_utc(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    return value.replace(tzinfo=zone).astimezone(UTC) if value else None
