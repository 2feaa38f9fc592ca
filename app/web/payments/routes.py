"""Entry fees: the player's payment page, the staff's review page and proof downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.models import PaymentMethod, PaymentStatus, Tournament
from app.services import ledger, payments, permissions, uploads
from app.services.errors import Conflict, DomainError, Invalid
from app.web.access import SIGNED_IN, TOURNAMENT_STAFF, requires
from app.web.forms import RACE_MESSAGE, apply_errors, attempt
from app.web.payments.forms import PayForm, ProofForm, RefundForm, RejectForm, ReviewForm

bp = Blueprint("payments", __name__)
# Refusals the page can explain next to the form; 403 and 404 become error pages.
REFUSALS = (Invalid, Conflict, uploads.TooLarge)


def _attempt(form: FlaskForm, action: Callable[[], Any]) -> tuple[bool, Any, int]:
    """`forms.attempt`, with every refusal shown next to the form (a double-clicked payment
    is news, not an error: 200)."""
    done, value, status = attempt(form, action, refusals=REFUSALS)
    if isinstance(value, payments.AlreadyPaid):
        return False, value, 200
    if value is not None and not done and not isinstance(value, Invalid):
        apply_errors(form, value)
    return done, value, status


# --- the player ----------------------------------------------------------------------


@bp.get("/t/<slug>/payment")
@requires(SIGNED_IN)
def player(tournament: Tournament):
    """The entry fee of the user's registration: status, history, wallet payment, proof upload."""
    return _player_page(tournament)


@bp.post("/t/<slug>/payment/wallet")
@requires(SIGNED_IN)
def pay(tournament: Tournament):
    """Pay the entry fee from the wallet (a double click pays once)."""
    form = PayForm()
    done, value, status = _attempt(form, lambda: payments.pay_with_wallet(
        current_user, _registration(tournament, form)))
    if done:
        flash(f"Paid {value.amount} coins from your wallet. Your registration is confirmed.",
              "success")
    elif isinstance(value, payments.AlreadyPaid):
        flash(value.message, "info")
    else:
        return _player_page(tournament, pay_form=form, status=status)
    return _back(tournament)


@bp.post("/t/<slug>/payment/proof")
@requires(SIGNED_IN)
def upload_proof(tournament: Tournament):
    """Send a payment proof (JPG, PNG or PDF up to 5 MB) for staff to review."""
    form = ProofForm()
    done, value, status = _attempt(form, lambda: payments.submit_proof(
        current_user, _registration(tournament, form), form.proof.data))
    if done:
        flash("Your payment proof was sent. Staff will review it; this page shows their answer.",
              "success")
    elif isinstance(value, payments.AlreadyPaid):
        flash(value.message, "info")
    else:
        return _player_page(tournament, proof_form=form, status=status)
    return _back(tournament)


def _registration(tournament: Tournament, form: PayForm):
    return payments.get_registration(tournament, form.registration_id.data)


def _back(tournament: Tournament):
    return redirect(url_for("payments.player", slug=tournament.slug), 303)


def _player_page(tournament: Tournament, *, pay_form: PayForm | None = None,
                 proof_form: ProofForm | None = None, status: int = 200):
    registration = payments.own_registration(current_user, tournament)
    if registration is None and not permissions.can_view(current_user, tournament):
        abort(404)
    entries = payments.history(registration) if registration else []
    return render_template(
        "pages/payments/player.html", tournament=tournament, registration=registration,
        history=entries, current=next((p for p in entries if p.status in payments.OPEN), None),
        latest=entries[0] if entries else None, balance=ledger.balance_of(current_user),
        problem=payments.payable_problem(tournament, registration) if registration else None,
        may_pay=registration is not None and payments.can_pay(current_user, registration),
        pay_form=pay_form or PayForm(formdata=None),
        proof_form=proof_form or ProofForm(formdata=None),
        labels=payments.STATUS_LABELS, methods=payments.METHOD_LABELS, PaymentStatus=PaymentStatus,
    ), status


# --- the staff -----------------------------------------------------------------------


@bp.get("/manage/t/<slug>/payments")
@requires(TOURNAMENT_STAFF)
def review(tournament: Tournament):
    """Proofs waiting for review first, then every other payment; verify, reject, refund."""
    return _review_page(tournament)


@bp.post("/manage/t/<slug>/payments/<int:payment_id>/verify")
@requires(TOURNAMENT_STAFF)
def verify(tournament: Tournament, payment_id: int):
    """Accept a proof: the registration is confirmed."""
    return _review_action(tournament, payment_id, ReviewForm(),
                          lambda payment, form: payments.verify(current_user, payment),
                          lambda p, name: (f"Payment of {name} verified; the registration is "
                                           "confirmed.",
                                           f"The payment of {name} was verified already."))


@bp.post("/manage/t/<slug>/payments/<int:payment_id>/reject")
@requires(TOURNAMENT_STAFF)
def reject(tournament: Tournament, payment_id: int):
    """Refuse a proof with a reason the player sees; they may send another."""
    return _review_action(tournament, payment_id, RejectForm(),
                          lambda payment, form: payments.reject(current_user, payment,
                                                                form.reason.data),
                          lambda p, name: (f"Proof of {name} rejected; they see your reason "
                                           "and may send another.",
                                           f"The proof of {name} was rejected already."))


@bp.post("/manage/t/<slug>/payments/<int:payment_id>/refund")
@requires(TOURNAMENT_STAFF)
def refund(tournament: Tournament, payment_id: int):
    """Give a paid entry fee back (wallet payments return to the wallet)."""
    return _review_action(tournament, payment_id, RefundForm(),
                          lambda payment, form: payments.refund(current_user, payment,
                                                                form.note.data),
                          lambda p, name: (f"{p.amount} coins refunded to {name} "
                                           + ("to their wallet." if p.method == PaymentMethod.WALLET
                                              else "(marked refunded)."),
                                           f"The payment of {name} was refunded already."))


def _review_action(tournament: Tournament, payment_id: int, form, act, said):
    """Run one staff action on a payment; back to the review page, saying what happened."""
    payment = payments.get_payment(tournament, payment_id)
    done, changed, status = _attempt(form, lambda: act(payment, form))
    if not done:
        return _review_page(tournament, row_error=(payment_id, _row_error(form, changed)),
                            status=status)
    now, before = said(payment, payment.registration.name)
    flash(now if changed else before, "success" if changed else "info")
    return _to_review(tournament)


def _row_error(form: FlaskForm, refusal: DomainError | None) -> str:
    if refusal is not None:
        return refusal.message
    return next((errors[0] for errors in form.errors.values() if errors), RACE_MESSAGE)


def _to_review(tournament: Tournament):
    return redirect(url_for("payments.review", slug=tournament.slug), 303)


def _review_page(tournament: Tournament, *, row_error: tuple[int, str] | None = None,
                 status: int = 200):
    waiting, others = payments.review_queue(tournament)
    return render_template(
        "pages/payments/review.html", tournament=tournament, waiting=waiting, others=others,
        limit=payments.HISTORY_LIMIT, row_error=row_error, labels=payments.STATUS_LABELS,
        methods=payments.METHOD_LABELS, PaymentStatus=PaymentStatus,
    ), status


# --- proofs --------------------------------------------------------------------------


@bp.get("/payments/<int:payment_id>/proof")
@requires(SIGNED_IN)
def proof(payment_id: int):
    """Download a proof (its payer and the tournament's staff only), never shown inline."""
    payment, path = payments.proof_file(current_user, payment_id)
    response = send_file(path, mimetype=payment.proof_content_type, as_attachment=True,
                         download_name=f"payment-{payment.id}-proof{path.suffix}", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
