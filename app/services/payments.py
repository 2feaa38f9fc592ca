"""Entry fees: paid from a coin wallet (through the ledger) or by a proof that staff review.

Locking: a change first takes the tournament row's share lock, then the
registration's row lock (`_lock`), in that order everywhere. Two clicks on one
registration therefore run one after the other and the second sees what the
first did (a repeated action is a no-op or a clear refusal, never a second
payment); and a cancellation, whose status UPDATE needs the tournament row
exclusively, waits for payments in flight and then refunds them too (SQLite
serializes all writers anyway).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import (
    HOLDS_SLOT,
    Account,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Status,
    Tournament,
    User,
    utcnow,
)
from app.realtime import events
from app.services import audit, ledger, permissions, registrations, uploads
from app.services.errors import Conflict, Invalid, NotAllowed, NotFound

PROOF_FOLDER = "payment-proofs"
NOTE_MAX = 500
PAYABLE = (Status.REGISTRATION, Status.CHECK_IN)  # entry fees are paid before the start
REVIEWABLE = (Status.REGISTRATION, Status.CHECK_IN, Status.LIVE)
CANCEL_NOTE = "The tournament was cancelled."
HISTORY_LIMIT = 200
OPEN = (PaymentStatus.SUBMITTED, PaymentStatus.VERIFIED)
METHOD_LABELS = {PaymentMethod.WALLET: "Wallet", PaymentMethod.PROOF: "Payment proof"}
STATUS_LABELS = {PaymentStatus.SUBMITTED: "Waiting for review", PaymentStatus.VERIFIED: "Paid",
                 PaymentStatus.REJECTED: "Rejected", PaymentStatus.REFUNDED: "Refunded"}


class AlreadyPaid(Conflict):
    """The entry fee of this registration is paid already (e.g. a double click)."""

    def __init__(self, payment: Payment) -> None:
        super().__init__("Your entry fee is already paid; nothing more was charged.")
        self.payment = payment


# --- reading -------------------------------------------------------------------------


def get_registration(tournament: Tournament, registration_id: int) -> Registration:
    """Registration `registration_id` of this tournament; NotFound for another tournament's."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.tournament_id != tournament.id:
        raise NotFound("That registration does not exist in this tournament.")
    return registration


def get_payment(tournament: Tournament, payment_id: int) -> Payment:
    """Payment `payment_id` of this tournament; NotFound for another tournament's."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.tournament_id != tournament.id:
        raise NotFound("That payment does not exist in this tournament.")
    return payment


def own_registration(user: User, tournament: Tournament) -> Registration | None:
    """The user's registration here (as player, member or registering captain), active first."""
    member_of = select(RegistrationMember.registration_id).where(
        RegistrationMember.tournament_id == tournament.id, RegistrationMember.user_id == user.id)
    return db.session.scalar(
        select(Registration)
        .where(Registration.tournament_id == tournament.id,
               or_(Registration.user_id == user.id, Registration.id.in_(member_of)))
        .order_by(Registration.active.desc(), Registration.id.desc())
        .limit(1)
    )


def history(registration: Registration) -> list[Payment]:
    """The registration's payments, newest first."""
    return list(db.session.scalars(
        select(Payment).where(Payment.registration_id == registration.id)
        .order_by(Payment.id.desc())
    ))


def open_payment(registration: Registration) -> Payment | None:
    """The payment that waits for review or counts (at most one, by a unique index)."""
    return db.session.scalar(
        select(Payment).where(Payment.registration_id == registration.id,
                              Payment.status.in_(OPEN))
        .execution_options(populate_existing=True)
    )


def review_queue(tournament: Tournament) -> tuple[list[Payment], list[Payment]]:
    """Proofs waiting for review (oldest first), and the other payments (newest first)."""
    query = (select(Payment).where(Payment.tournament_id == tournament.id)
             .options(selectinload(Payment.registration), selectinload(Payment.payer)))
    waiting = db.session.scalars(
        query.where(Payment.status == PaymentStatus.SUBMITTED).order_by(Payment.id))
    others = db.session.scalars(
        query.where(Payment.status != PaymentStatus.SUBMITTED)
        .order_by(Payment.id.desc()).limit(HISTORY_LIMIT))
    return list(waiting), list(others)


def can_pay(user: User, registration: Registration) -> bool:
    """Whether `user` pays this registration's fee: its player, or its team's captain."""
    if registration.user_id == user.id:
        return True
    return registration.team is not None and registration.team.captain_id == user.id


def proof_file(actor: User, payment_id: int) -> tuple[Payment, Path]:
    """A proof and its stored file, for its payer, the tournament's staff and site admins."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.proof_path is None:
        raise NotFound("That payment proof does not exist.")
    tournament = db.session.get(Tournament, payment.tournament_id)
    if payment.payer_id != actor.id and not permissions.can_coordinate(actor, tournament):
        raise NotAllowed("Only the player who sent this proof and the tournament's staff "
                         "can open it.")
    return payment, uploads.path_of(payment.proof_path)


# --- paying --------------------------------------------------------------------------


def pay_with_wallet(actor: User, registration: Registration) -> Payment:
    """Move the entry fee from the actor's wallet to the prize pool; AlreadyPaid if paid."""
    _require_payer(actor, registration)
    tournament = _lock(registration)
    _require_payable(tournament, registration)
    fee = tournament.entry_fee
    if (balance := _balance(actor)) < fee:  # the ledger checks again, in its UPDATE
        raise Conflict(f"Not enough coins: the entry fee is {fee} and your wallet holds "
                       f"{balance}. Nothing was paid.")
    earlier = db.session.scalar(select(func.count(Payment.id)).where(
        Payment.registration_id == registration.id, Payment.method == PaymentMethod.WALLET))
    # A repeated key (a retry of this very payment) returns the first transaction.
    transaction = ledger.post(
        f"entry-fee:{registration.id}:{earlier}", "entry_fee",
        [(ledger.wallet(actor), -fee), (ledger.prize_pool(tournament), fee)],
        memo=f"Entry fee: {tournament.name}", actor=actor, tournament=tournament)
    payment = _insert(Payment(
        registration_id=registration.id, tournament_id=tournament.id, payer_id=actor.id,
        method=PaymentMethod.WALLET, status=PaymentStatus.VERIFIED, amount=fee,
        transaction_id=transaction.id))
    registrations.set_paid(registration, True)
    audit.record(actor, "payment.paid", payment, tournament=tournament, method="WALLET",
                 amount=fee, registration_id=registration.id)
    _announce(tournament)
    return payment


def submit_proof(actor: User, registration: Registration,
                 file_storage: FileStorage | None) -> Payment:
    """Store a proof of payment (JPG, PNG or PDF up to 5 MB) for staff to review."""
    _require_payer(actor, registration)
    tournament = db.session.get(Tournament, registration.tournament_id)
    _require_payable(tournament, registration)  # say so before reading a file for nothing
    upload = uploads.read(file_storage, uploads.PROOF_KINDS, field="proof")
    tournament = _lock(registration)
    _require_payable(tournament, registration)
    stored = uploads.store(upload, PROOF_FOLDER)
    try:
        payment = _insert(Payment(
            registration_id=registration.id, tournament_id=tournament.id, payer_id=actor.id,
            method=PaymentMethod.PROOF, status=PaymentStatus.SUBMITTED,
            amount=tournament.entry_fee, proof_path=stored,
            proof_content_type=upload.kind.content_type,
            proof_original_name=upload.original_name))
    except Conflict:
        uploads.delete(stored)
        raise
    audit.record(actor, "payment.proof_submitted", payment, tournament=tournament,
                 amount=payment.amount, registration_id=registration.id,
                 file=upload.original_name, content_type=upload.kind.content_type)
    _announce(tournament)
    return payment


def payable_problem(tournament: Tournament, registration: Registration) -> str | None:
    """Why this registration's fee cannot be paid now (None when it can)."""
    try:
        _require_payable(tournament, registration)
    except (Conflict, Invalid) as refusal:
        return refusal.message
    return None


def _require_payer(actor: User, registration: Registration) -> None:
    if not can_pay(actor, registration):
        raise NotAllowed("Only the player who registered (or the team's captain) can pay "
                         "this entry fee.")


def _require_payable(tournament: Tournament, registration: Registration) -> None:
    if tournament.entry_fee <= 0:
        raise Invalid(f"{tournament.name} is free: there is no entry fee to pay.")
    if tournament.status not in PAYABLE:
        raise Conflict(f"Entry fees can no longer be paid: {tournament.name} is "
                       f"{_status_phrase(tournament.status)}. Nothing was paid.")
    if registration.status in (RegistrationStatus.WITHDRAWN, RegistrationStatus.REMOVED):
        raise Conflict(f"This registration was {registration.status.value.lower()}; there is "
                       "nothing to pay.")
    if registration.status == RegistrationStatus.WAITLISTED:
        raise Conflict("You are on the waitlist: pay the entry fee once a slot frees up for "
                       "you. Nothing was paid.")
    current = open_payment(registration)
    if current is not None and current.status == PaymentStatus.VERIFIED:
        raise AlreadyPaid(current)
    if current is not None:
        raise Conflict("Your payment proof is waiting for staff review; wait for their answer "
                       "before paying again. Nothing was paid.")
    if registration.status == RegistrationStatus.CONFIRMED:
        raise Conflict("This registration is already confirmed; there is nothing to pay.")


def _insert(payment: Payment) -> Payment:
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError as error:  # uq_payments_open: a concurrent twin got there first
        raise Conflict("Another payment for this registration was made at the same moment; "
                       "reload the page to see it. Nothing more was paid.") from error
    return payment


# --- reviewing -----------------------------------------------------------------------


def verify(actor: User, payment: Payment) -> bool:
    """Accept a submitted proof: the registration is confirmed; False if verified already."""
    tournament = _staff_lock(actor, payment)
    if payment.status == PaymentStatus.VERIFIED:
        return False
    _require_submitted(payment, "verified")
    registration = payment.registration
    if tournament.status not in REVIEWABLE:
        raise Conflict(f"{tournament.name} is {_status_phrase(tournament.status)}; its "
                       "payments can no longer be verified.")
    if registration.status not in HOLDS_SLOT:
        raise Conflict(f"{registration.name} no longer holds a slot "
                       f"({_status_phrase(registration.status)}); reject this proof instead.")
    _review(actor, payment, PaymentStatus.VERIFIED)
    registrations.set_paid(registration, True)
    audit.record(actor, "payment.verified", payment, tournament=tournament,
                 amount=payment.amount, registration_id=registration.id)
    _announce(tournament)
    return True


def reject(actor: User, payment: Payment, reason: str) -> bool:
    """Refuse a submitted proof with a reason the player sees; False if rejected already."""
    reason = _text(reason, "reason", "Say why the proof is rejected; the player will see it.")
    tournament = _staff_lock(actor, payment)
    if payment.status == PaymentStatus.REJECTED:
        return False
    _require_submitted(payment, "rejected")
    _review(actor, payment, PaymentStatus.REJECTED, reason)
    audit.record(actor, "payment.rejected", payment, tournament=tournament,
                 registration_id=payment.registration_id, reason=reason)
    _announce(tournament)
    return True


def refund(actor: User, payment: Payment, note: str) -> bool:
    """Give a verified payment back (wallet: through the ledger); False if refunded already."""
    note = _text(note, "note", "Add a note saying why the payment is refunded.")
    tournament = _staff_lock(actor, payment)
    if payment.status == PaymentStatus.REFUNDED:
        return False
    if payment.status != PaymentStatus.VERIFIED:
        raise Conflict(f"Only a paid entry fee can be refunded; this payment is "
                       f"{payment.status.value.lower()}. Nothing was changed.")
    _refund(actor, payment, tournament, note)
    _announce(tournament)
    return True


def refund_all(actor: User | None, registration: Registration, note: str) -> int:
    """On a withdrawal: refund wallet-paid fees and close waiting proofs; how many refunded.

    A fee paid by transfer (a verified proof) stays VERIFIED: that money is outside the
    app, so only staff can give it back (and mark it refunded) on the payments page.
    """
    # Only the registration's lock: the caller (a withdrawal) may hold it already, and taking
    # the tournament's after it would invert the order a cancellation uses.
    _lock_registration(registration)
    tournament = db.session.get(Tournament, registration.tournament_id)
    refunded = 0
    for payment in _payments(registration, (PaymentStatus.VERIFIED,)):
        if payment.method == PaymentMethod.WALLET:
            _refund(actor, payment, tournament, note)
            refunded += 1
        else:
            audit.record(actor, "payment.refund_due", payment, tournament=tournament,
                         registration_id=registration.id, reason=note)
    close_waiting(actor, registration, note)
    _announce(tournament)
    return refunded


def close_waiting(actor: User | None, registration: Registration, note: str) -> int:
    """Reject proofs still waiting for review: their registration has left the tournament."""
    tournament = db.session.get(Tournament, registration.tournament_id)
    waiting = _payments(registration, (PaymentStatus.SUBMITTED,))
    for payment in waiting:
        _review(actor, payment, PaymentStatus.REJECTED, note)
        audit.record(actor, "payment.rejected", payment, tournament=tournament,
                     registration_id=registration.id, reason=note, automatic=True)
    return len(waiting)


def refund_tournament(actor: User | None, tournament: Tournament) -> int:
    """Refund every wallet-paid entry fee of a cancelled tournament; a second run finds none."""
    if tournament.status != Status.CANCELLED:
        raise Conflict("Entry fees are refunded all at once only when a tournament is cancelled.")
    paid = (select(Payment.registration_id)
            .where(Payment.tournament_id == tournament.id, Payment.status == PaymentStatus.VERIFIED,
                   Payment.method == PaymentMethod.WALLET))
    # Lock the registrations in id order before any ledger write (see the module docstring).
    locked = list(db.session.scalars(select(Registration.id).where(Registration.id.in_(paid))
                                      .order_by(Registration.id).with_for_update()))
    # Refunds in wallet order: two cancellations sharing players then lock wallets in the
    # same order and cannot deadlock.
    payments = list(db.session.scalars(
        select(Payment).join(Account, Account.user_id == Payment.payer_id)
        .where(Payment.registration_id.in_(locked), Payment.status == PaymentStatus.VERIFIED,
               Payment.method == PaymentMethod.WALLET)
        .order_by(Account.id, Payment.id).execution_options(populate_existing=True)))
    for payment in payments:
        db.session.refresh(payment.registration)
        _refund(actor, payment, tournament, CANCEL_NOTE)
    if payments:
        audit.record(actor, "tournament.entry_fees_refunded", tournament, tournament=tournament,
                     count=len(payments), total=sum(p.amount for p in payments))
        _announce(tournament)
    return len(payments)


def _refund(actor: User | None, payment: Payment, tournament: Tournament, note: str) -> None:
    if payment.method == PaymentMethod.WALLET:
        transaction = ledger.post(
            f"refund:{payment.id}", "refund",
            [(ledger.prize_pool(tournament), -payment.amount),
             (ledger.wallet(payment.payer), payment.amount)],
            memo=f"Entry fee refund: {tournament.name}", actor=actor, tournament=tournament)
        payment.refund_transaction_id = transaction.id
    _review(actor, payment, PaymentStatus.REFUNDED, note)
    registration = payment.registration
    if registration.status in HOLDS_SLOT:  # it was the one payment that counted (unique index)
        registrations.set_paid(registration, False)
    audit.record(actor, "payment.refunded", payment, tournament=tournament,
                 method=payment.method.value, amount=payment.amount,
                 registration_id=registration.id, note=note)


def _review(actor: User | None, payment: Payment, status: PaymentStatus,
            note: str | None = None) -> None:
    payment.status = status
    payment.reviewed_by_id = actor.id if actor else None
    payment.reviewed_at = utcnow()
    if note is not None:
        payment.note = note


def _require_submitted(payment: Payment, wanted: str) -> None:
    if payment.status != PaymentStatus.SUBMITTED:
        raise Conflict(f"This proof cannot be {wanted}: it was "
                       f"{payment.status.value.lower()} already. Nothing was changed.")


def _staff_lock(actor: User, payment: Payment) -> Tournament:
    tournament = db.session.get(Tournament, payment.tournament_id)
    if not permissions.can_coordinate(actor, tournament):
        raise NotAllowed("Only this tournament's staff can review its payments.")
    tournament = _lock(payment.registration)
    db.session.refresh(payment)
    return tournament


def _text(value: str | None, field: str, missing: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise Invalid(missing, {field: missing})
    if len(text) > NOTE_MAX:
        message = f"Use at most {NOTE_MAX} characters."
        raise Invalid(message, {field: message})
    return text


# --- locking and events --------------------------------------------------------------


def _lock(registration: Registration) -> Tournament:
    """Share-lock the tournament, then lock and re-read the registration; return the former."""
    db.session.execute(select(Tournament.id).where(Tournament.id == registration.tournament_id)
                       .with_for_update(read=True))
    tournament = db.session.get(Tournament, registration.tournament_id, populate_existing=True)
    _lock_registration(registration)
    return tournament


def _lock_registration(registration: Registration) -> None:
    db.session.execute(select(Registration.id).where(Registration.id == registration.id)
                       .with_for_update())
    db.session.refresh(registration)


def _payments(registration: Registration, statuses: tuple[PaymentStatus, ...]) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.registration_id == registration.id,
                              Payment.status.in_(statuses))
        .order_by(Payment.id).execution_options(populate_existing=True)))


def _balance(user: User) -> int:
    # The column itself, not a possibly stale Account object of this session.
    balance = db.session.scalar(select(Account.balance).where(Account.user_id == user.id))
    return balance or 0


def _announce(tournament: Tournament) -> None:
    events.record("registrations_changed", tournament_id=tournament.id)


def _status_phrase(status: Status | RegistrationStatus) -> str:
    return status.value.lower().replace("_", " ")
