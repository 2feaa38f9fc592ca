"""Payment forms: pay from the wallet, upload a proof, and the staff's review."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import HiddenInput

from app.services.payments import NOTE_MAX

TOO_LONG = f"Use at most {NOTE_MAX} characters."


class PayForm(FlaskForm):
    """One click: pay the registration's entry fee from the wallet."""

    registration_id = IntegerField(widget=HiddenInput(),
                                   validators=[InputRequired("Reload the page and try again.")])


class ProofForm(PayForm):
    # The accept list only helps the file picker; the server checks the content itself.
    proof = FileField("Payment proof", [FileRequired("Choose a file to upload.")],
                      render_kw={"accept": ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,"
                                           "application/pdf"})


class ReviewForm(FlaskForm):
    """A staff button without fields (verify)."""


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason", [InputRequired("Say why the proof is rejected; the player "
                                                    "will see it."),
                                      Length(max=NOTE_MAX, message=TOO_LONG)])


class RefundForm(FlaskForm):
    note = TextAreaField("Note", [InputRequired("Add a note saying why the payment is "
                                                "refunded."),
                                  Length(max=NOTE_MAX, message=TOO_LONG)])
