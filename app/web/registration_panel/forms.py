"""Forms of the registration panel: the filter (a GET form) and the bulk action form."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SearchField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.models import RegistrationStatus
from app.services.registration_panel import REASON_MAX, SEARCH_MAX, Filters, PaymentState
from app.web.templating import REGISTRATION_LABELS

STATUS_LABELS = REGISTRATION_LABELS
PAYMENT_LABELS = {
    PaymentState.NONE: "None",
    PaymentState.SUBMITTED: "Proof submitted",
    PaymentState.VERIFIED: "Verified",
    PaymentState.REJECTED: "Rejected",
    PaymentState.REFUNDED: "Refunded",
}
CHECKED_IN = {"yes": True, "no": False}


class FilterForm(FlaskForm):
    """The table's filters, read from the query string (a GET form changes nothing: no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField("Search", [Optional(), Length(max=SEARCH_MAX)],
                    render_kw={"placeholder": "Player or team name", "autocapitalize": "none",
                               "spellcheck": "false"})
    status = SelectField("Status", default="", choices=[
        ("", "All statuses"), *((s.value, label) for s, label in STATUS_LABELS.items())])
    payment = SelectField("Payment", default="", choices=[
        ("", "Any payment"), *((p.value, label) for p, label in PAYMENT_LABELS.items())])
    checked_in = SelectField("Checked in", default="", choices=[
        ("", "Any"), ("yes", "Yes"), ("no", "No")])
    page = IntegerField("Page", [Optional(), NumberRange(min=1)])

    def filters(self) -> Filters:
        """The validated filter values."""
        return Filters(
            status=RegistrationStatus(self.status.data) if self.status.data else None,
            payment=PaymentState(self.payment.data) if self.payment.data else None,
            checked_in=CHECKED_IN.get(self.checked_in.data),
            search=" ".join((self.q.data or "").split()),
        )

    def args(self, page: bool = False) -> dict[str, Any]:
        """The filters as query-string arguments (and the page if asked), for links."""
        if self.errors:
            return {}
        values = {"q": self.filters().search, "status": self.status.data,
                  "payment": self.payment.data, "checked_in": self.checked_in.data,
                  "page": self.page.data if page and (self.page.data or 0) > 1 else None}
        return {name: value for name, value in values.items() if value}


class BulkForm(FlaskForm):
    """The selection (``id:version`` per ticked row) and the action its button names."""

    ids = SelectMultipleField("Selected registrations", choices=[], validate_choice=False)
    action = StringField("Action")
    reason = StringField("Reason for removing them", [Optional(), Length(max=REASON_MAX)],
                         render_kw={"placeholder": "Reason for removal",
                                    "maxlength": REASON_MAX})

    def validate_ids(self, field: SelectMultipleField) -> None:
        try:
            _parse_selection(field.data or [])
        except ValueError:
            raise ValidationError("That selection is not valid; reload the page.") from None

    def selection(self) -> dict[int, int | None]:
        """Registration id -> the version the page showed (None when not sent)."""
        try:
            return _parse_selection(self.ids.data or [])
        except ValueError:
            return {}


def _parse_selection(values: list[str]) -> dict[int, int | None]:
    """``["12:3", "15"]`` -> ``{12: 3, 15: None}`` (the version is optional)."""
    selection: dict[int, int | None] = {}
    for value in values:
        reg_id, _, version = value.partition(":")
        numbers = [int(reg_id), int(version) if version else 1]
        if not all(0 < n < 2**31 for n in numbers):  # what an INTEGER column can hold
            raise ValueError(value)
        selection[numbers[0]] = int(version) if version else None
    return selection
