"""Forms of the bracket pages: options (preview), generate, finalize, seeds and ratings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from app.models import Format, Registration, SeedingMethod, Separation, Tournament
from app.services.brackets import MAX_GROUPS, Options
from app.services.seeding import MAX_RATING

SEEDING_LABELS = {
    SeedingMethod.REGISTRATION: "Registration order",
    SeedingMethod.RANDOM: "Random draw",
    SeedingMethod.MANUAL: "Manual order",
    SeedingMethod.RANKED: "By rating",
}
SEPARATION_LABELS = {
    Separation.NONE: "No",
    Separation.TEAM: "Players of the same team",
    Separation.AFFILIATION: "Same club/region",
}
MAX_RNG_SEED = 2**63 - 1  # what the bracket's BIGINT column holds
MAX_ROUNDS = 64
CSV_MAX_BYTES = 512 * 1024
AFFILIATION_MAX = 80
OPTION_FIELDS = ("seeding", "separation", "groups", "cycles", "advance", "rounds", "rng_seed")
RELOAD = "Reload the page and try again."


class _OptionFields(FlaskForm):
    """The organizer's choices; which of them apply depends on the tournament's format."""

    seeding = SelectField("Seeding", default=SeedingMethod.REGISTRATION.value,
                          choices=[(m.value, label) for m, label in SEEDING_LABELS.items()])
    separation = SelectField("Keep apart in the first round", default=Separation.NONE.value,
                             choices=[(s.value, label) for s, label in SEPARATION_LABELS.items()])
    groups = IntegerField("Groups", [Optional(), NumberRange(1, MAX_GROUPS)], default=1)
    cycles = SelectField("Each pair meets", default="1",
                         choices=[("1", "Once (single round robin)"),
                                  ("2", "Twice (double round robin)")])
    advance = IntegerField("Advance per group", [Optional(), NumberRange(min=1)], default=2)
    rounds = IntegerField("Rounds", [Optional(), NumberRange(1, MAX_ROUNDS)])
    rng_seed = IntegerField(widget=HiddenInput(), validators=[Optional(),
                                                              NumberRange(0, MAX_RNG_SEED)])

    def options_valid(self) -> bool:
        """Whether the option fields (not the rest of a form) hold usable values."""
        return not any(self[name].errors for name in OPTION_FIELDS)

    def for_tournament(self, tournament: Tournament) -> _OptionFields:
        """Offer only what applies: keeping teammates apart needs solo entrants."""
        if tournament.team_based:
            self.separation.choices = [c for c in self.separation.choices
                                       if c[0] != Separation.TEAM.value]
        return self

    def options(self, tournament: Tournament) -> Options:
        """The service options; fields of other formats keep their defaults."""
        fmt = tournament.format
        options = Options(seeding=SeedingMethod(self.seeding.data),
                          separation=Separation(self.separation.data),
                          rng_seed=self.rng_seed.data)
        if fmt == Format.ROUND_ROBIN:
            options.groups = self.groups.data or 1
            options.cycles = int(self.cycles.data or 1)
            options.advance = self.advance.data or 2
        if fmt == Format.SWISS:
            options.rounds = self.rounds.data
        return options

    def args(self, tournament: Tournament, rng_seed: int | None = None) -> dict[str, Any]:
        """The options as query-string or hidden-field values (and a draw's RNG seed)."""
        fmt, values = tournament.format, {"seeding": self.seeding.data,
                                          "separation": self.separation.data}
        if fmt == Format.ROUND_ROBIN:
            values |= {"groups": self.groups.data or 1, "cycles": self.cycles.data or "1",
                       "advance": self.advance.data or 2}
        if fmt == Format.SWISS and self.rounds.data:
            values["rounds"] = self.rounds.data
        if rng_seed is not None and self.seeding.data == SeedingMethod.RANDOM.value:
            values["rng_seed"] = rng_seed
        return values


class OptionsForm(_OptionFields):
    """The preview form: a GET form, which changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False


class GenerateForm(_OptionFields):
    """Generate what the preview showed; `version` is the bracket's when the page rendered."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(RELOAD),
                                                             NumberRange(min=0)])
    replace = BooleanField("Replace the current bracket")

    def validate_replace(self, field: BooleanField) -> None:
        if self.version.data and not field.data:
            raise ValidationError("Tick this box to replace the current bracket.")


class FinalizeForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(RELOAD),
                                                             NumberRange(min=1)])


class SeedsForm(FlaskForm):
    """The seed numbers come as `seed-<registration id>` fields (see `seed_order`)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(RELOAD),
                                                             NumberRange(min=0)])


class RatingsForm(FlaskForm):
    """The rows come as `rating-<id>` and `affiliation-<id>` fields (see `rating_values`)."""


class ImportForm(FlaskForm):
    file = FileField("CSV file", render_kw={"accept": ".csv,.txt,text/csv,text/plain"})
    text = TextAreaField("Or paste the rows", render_kw={
        "placeholder": "name,rating,club/region\nAda Lovelace,1850,Berlin", "rows": 5,
        "spellcheck": "false"})

    def validate_text(self, field: TextAreaField) -> None:
        if not self.csv_text().strip():
            raise ValidationError("Choose a file or paste the rows.")

    def csv_text(self) -> str:
        """The uploaded file's text (UTF-8, as spreadsheets save it) or the pasted rows."""
        upload = self.file.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(CSV_MAX_BYTES + 1)
            upload.seek(0)
            if len(data) > CSV_MAX_BYTES:
                raise ValidationError(f"The file is larger than {CSV_MAX_BYTES // 1024} KB.")
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError("The file is not UTF-8 text; save it as CSV (UTF-8) "
                                      "and try again.") from None
            if "\x00" in text:
                raise ValidationError("The file is not a text file.")
            return text
        return self.text.data or ""


# --- rows of numbers -----------------------------------------------------------------------


@dataclass
class Parsed:
    """What a page of per-row inputs said: the values, or an error per row."""

    values: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    typed: dict[int, Any] = field(default_factory=dict)  # as typed, to show them again


def seed_order(formdata: Mapping[str, str], entrants: Sequence[Registration]) -> Parsed:
    """Registration ids sorted by the typed seeds, which must be 1..N, each once."""
    result, count = Parsed(), len(entrants)
    seen: dict[int, Registration] = {}
    for registration in entrants:
        typed = (formdata.get(f"seed-{registration.id}") or "").strip()
        result.typed[registration.id] = typed
        number = _whole(typed)
        if number is None:
            result.errors[registration.id] = "Type a whole number."
        elif not 1 <= number <= count:
            result.errors[registration.id] = f"Seeds go from 1 to {count}."
        elif number in seen:
            other = seen[number]
            result.errors[registration.id] = f"Seed {number} is given to {other.name} too."
            result.errors.setdefault(other.id, f"Seed {number} is given to "
                                               f"{registration.name} too.")
        else:
            seen[number] = registration
            result.values[registration.id] = number
    return result


def rating_values(formdata: Mapping[str, str], rows: Sequence[Registration]) -> Parsed:
    """Registration id -> (rating or None, club/region) as typed on the ratings page."""
    result = Parsed()
    for registration in rows:
        key = registration.id
        if f"rating-{key}" not in formdata:
            continue  # not on the page that was sent (registered since): leave it alone
        typed = (formdata.get(f"rating-{key}") or "").strip()
        affiliation = " ".join((formdata.get(f"affiliation-{key}") or "").split())
        result.typed[key] = (typed, affiliation)
        rating = _whole(typed)
        if typed and rating is None:
            result.errors[key] = f"“{typed[:20]}” is not a whole number."
        elif rating is not None and abs(rating) > MAX_RATING:
            result.errors[key] = f"Ratings go from -{MAX_RATING:,} to {MAX_RATING:,}."
        elif len(affiliation) > AFFILIATION_MAX:
            result.errors[key] = f"Club/region is at most {AFFILIATION_MAX} characters."
        else:
            result.values[key] = (rating, affiliation)
    return result


def _whole(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > 12 or not text.lstrip("+-").isdigit():
        return None
    return int(text)
