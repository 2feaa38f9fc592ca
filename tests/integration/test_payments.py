"""Entry fees: wallet payments, payment proofs, staff review, refunds and cancellation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import (
    ACTIVE,
    Account,
    AuditLog,
    LedgerTransaction,
    OutboxEvent,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    StaffMember,
    StaffRole,
    Status,
    Tournament,
    User,
)
from app.services import ledger, payments, tournaments
from app.services.errors import Conflict, DomainError, Invalid, NotAllowed
from tests.concurrency import concurrently
from tests.integration.test_uploads import HTML, image_bytes, zip_bytes

FEE = 50


# --- helpers shared with tests/web/test_payment_pages.py -----------------------------


def register(user: User, tournament: Tournament,
             status: RegistrationStatus = RegistrationStatus.PENDING_PAYMENT) -> Registration:
    """A solo registration written directly (the registration service has its own tests)."""
    active = status in ACTIVE
    registration = Registration(tournament_id=tournament.id, user_id=user.id, status=status,
                                active=active)
    registration.members.append(RegistrationMember(tournament_id=tournament.id,
                                                   user_id=user.id, active=active))
    db.session.add(registration)
    db.session.commit()
    return registration


def fund(user: User, coins: int) -> None:
    """Put coins in the user's wallet (from issuance)."""
    ledger.post(f"test-fund:{user.id}:{coins}", "grant",
                [(ledger.issuance(), -coins), (ledger.wallet(user), coins)], memo="test")
    db.session.commit()


def coins(user: User) -> int:
    return db.session.scalar(select(Account.balance).where(Account.user_id == user.id)) or 0


def pool(tournament: Tournament) -> int:
    return db.session.scalar(
        select(Account.balance).where(Account.tournament_id == tournament.id)) or 0


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def proof(data: bytes | None = None, name: str = "receipt.png") -> FileStorage:
    return FileStorage(io.BytesIO(image_bytes("PNG") if data is None else data), filename=name,
                       content_type="image/png")


def actions(*prefixes: str) -> list[str]:
    rows = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id))
    return [a for a in rows if a.startswith(prefixes or ("payment.",))]


def reload(obj):
    db.session.rollback()
    db.session.refresh(obj)
    return obj




# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def cup(make_tournament):
    return make_tournament("paid-cup", entry_fee=FEE)


@pytest.fixture
def registration(player, cup):
    return register(player, cup)


@pytest.fixture
def rich(player):
    fund(player, 120)
    return player


@pytest.fixture
def coordinator(make_user, cup):
    user = make_user("coord")
    db.session.add(StaffMember(tournament_id=cup.id, user_id=user.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    return user


@pytest.fixture
def submitted(player, registration):
    payment = payments.submit_proof(player, registration, proof())
    db.session.commit()
    return payment


@pytest.fixture
def paid(rich, registration):
    payment = payments.pay_with_wallet(rich, registration)
    db.session.commit()
    return payment


# --- paying from the wallet ----------------------------------------------------------


def test_paying_from_the_wallet_moves_the_fee_to_the_prize_pool_and_confirms(
        rich, cup, registration):
    payment = payments.pay_with_wallet(rich, registration)
    db.session.commit()
    assert (coins(rich), pool(cup)) == (70, FEE)
    assert (payment.method, payment.status, payment.amount) == (
        PaymentMethod.WALLET, PaymentStatus.VERIFIED, FEE)
    assert reload(registration).status == RegistrationStatus.CONFIRMED
    transaction = db.session.get(LedgerTransaction, payment.transaction_id)
    assert (transaction.idempotency_key, transaction.kind) == (
        f"entry-fee:{registration.id}:0", "entry_fee")
    assert actions() == ["payment.paid"]
    assert count(OutboxEvent, OutboxEvent.type == "registrations_changed",
                 OutboxEvent.tournament_id == cup.id) == 1


def test_paying_twice_charges_once_and_says_already_paid(paid, rich, registration):
    with pytest.raises(payments.AlreadyPaid) as caught:
        payments.pay_with_wallet(rich, registration)
    db.session.rollback()
    assert "already paid" in caught.value.message
    assert coins(rich) == 70
    assert count(Payment) == 1 and count(LedgerTransaction) == 2  # the funding and the fee


def test_a_double_click_at_the_same_moment_pays_once(app, rich, cup, registration):
    user_id, registration_id = rich.id, registration.id

    def click():
        return payments.pay_with_wallet(db.session.get(User, user_id),
                                        db.session.get(Registration, registration_id)).id

    outcomes = concurrently(app, click, click)
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert (coins(rich), pool(cup), count(Payment)) == (70, FEE, 1)
    assert reload(registration).status == RegistrationStatus.CONFIRMED


def test_not_enough_coins_is_refused_and_nothing_is_written(player, cup, registration):
    fund(player, 20)
    with pytest.raises(Conflict) as caught:
        payments.pay_with_wallet(player, registration)
    db.session.rollback()
    assert caught.value.message == ("Not enough coins: the entry fee is 50 and your wallet "
                                    "holds 20. Nothing was paid.")
    assert (coins(player), pool(cup), count(Payment)) == (20, 0, 0)
    assert reload(registration).status == RegistrationStatus.PENDING_PAYMENT
    assert actions() == []


def test_a_free_tournament_has_nothing_to_pay(rich, make_tournament):
    free = make_tournament("free-cup")
    registration = register(rich, free, RegistrationStatus.CONFIRMED)
    with pytest.raises(Invalid, match="Free Cup is free: there is no entry fee to pay."):
        payments.pay_with_wallet(rich, registration)
    db.session.rollback()
    assert (coins(rich), count(Payment)) == (120, 0)


@pytest.mark.parametrize("status, message", [
    (RegistrationStatus.WAITLISTED, "You are on the waitlist"),
    (RegistrationStatus.WITHDRAWN, "This registration was withdrawn; there is nothing to pay."),
    (RegistrationStatus.REMOVED, "This registration was removed; there is nothing to pay."),
])
def test_registrations_without_a_slot_cannot_pay(rich, cup, status, message):
    registration = register(rich, cup, status)
    for pay in (lambda: payments.pay_with_wallet(rich, registration),
                lambda: payments.submit_proof(rich, registration, proof())):
        with pytest.raises(Conflict) as caught:
            pay()
        db.session.rollback()
        assert caught.value.message.startswith(message)
    assert (coins(rich), count(Payment)) == (120, 0)


def test_nobody_pays_another_players_registration(make_user, registration):
    stranger = make_user("stranger")
    fund(stranger, 100)
    with pytest.raises(NotAllowed):
        payments.pay_with_wallet(stranger, registration)
    with pytest.raises(NotAllowed):
        payments.submit_proof(stranger, registration, proof())
    db.session.rollback()
    assert (coins(stranger), count(Payment)) == (100, 0)


def test_fees_cannot_be_paid_once_the_tournament_is_cancelled(rich, cup, registration):
    cup.status = Status.CANCELLED
    db.session.commit()
    with pytest.raises(Conflict, match="no longer be paid: Paid Cup is cancelled"):
        payments.pay_with_wallet(rich, registration)
    db.session.rollback()
    assert coins(rich) == 120


def test_paying_again_after_a_refund_is_a_new_ledger_transaction(
        paid, rich, organizer, registration):
    payments.refund(organizer, paid, "Paid by mistake")
    db.session.commit()
    again = payments.pay_with_wallet(rich, registration)
    db.session.commit()
    key = db.session.get(LedgerTransaction, again.transaction_id).idempotency_key
    assert key == f"entry-fee:{registration.id}:1"
    assert coins(rich) == 70


# --- payment proofs ------------------------------------------------------------------


def test_a_proof_waits_for_staff_and_is_stored_under_a_generated_name(
        app, submitted, registration):
    assert (submitted.method, submitted.status, submitted.amount) == (
        PaymentMethod.PROOF, PaymentStatus.SUBMITTED, FEE)
    assert submitted.proof_content_type == "image/png"
    assert submitted.proof_original_name == "receipt.png"
    path = Path(app.config["UPLOAD_DIR"]) / submitted.proof_path
    assert path.read_bytes() == image_bytes("PNG") and "receipt" not in path.name
    assert reload(registration).status == RegistrationStatus.PENDING_PAYMENT
    assert actions() == ["payment.proof_submitted"]


@pytest.mark.parametrize("data, name, words", [
    (HTML, "receipt.png", "named like a PNG but its content is an HTML page"),
    (zip_bytes(), "invoice.pdf", "named like a PDF but its content is a ZIP archive"),
    (b"", "receipt.png", "is empty"),
], ids=["html-as-png", "zip-as-pdf", "empty"])
def test_a_bad_proof_is_refused_and_nothing_is_stored(app, player, registration, data, name,
                                                      words):
    with pytest.raises(Invalid) as caught:
        payments.submit_proof(player, registration, proof(data, name))
    db.session.rollback()
    assert words in caught.value.fields["proof"]
    assert count(Payment) == 0


def test_a_second_proof_while_one_waits_is_refused(submitted, player, registration):
    with pytest.raises(Conflict, match="waiting for staff review"):
        payments.submit_proof(player, registration, proof())
    with pytest.raises(Conflict, match="waiting for staff review"):
        payments.pay_with_wallet(player, registration)
    db.session.rollback()
    assert count(Payment) == 1


def test_verifying_a_proof_confirms_the_registration(submitted, coordinator, registration):
    assert payments.verify(coordinator, submitted) is True
    db.session.commit()
    assert submitted.status == PaymentStatus.VERIFIED
    assert submitted.reviewed_by_id == coordinator.id
    assert reload(registration).status == RegistrationStatus.CONFIRMED
    assert actions() == ["payment.proof_submitted", "payment.verified"]


def test_verifying_twice_is_a_no_op(submitted, organizer):
    payments.verify(organizer, submitted)
    db.session.commit()
    assert payments.verify(organizer, submitted) is False
    db.session.commit()
    assert actions().count("payment.verified") == 1


def test_rejecting_needs_a_reason_and_changes_nothing_without_one(submitted, organizer):
    with pytest.raises(Invalid) as caught:
        payments.reject(organizer, submitted, "   ")
    db.session.rollback()
    assert caught.value.fields == {
        "reason": "Say why the proof is rejected; the player will see it."}
    assert reload(submitted).status == PaymentStatus.SUBMITTED


def test_a_rejected_proof_keeps_its_reason_and_the_player_can_send_another(
        submitted, organizer, player, registration):
    assert payments.reject(organizer, submitted, "The amount is  wrong.") is True
    db.session.commit()
    assert (submitted.status, submitted.note) == (PaymentStatus.REJECTED, "The amount is wrong.")
    assert reload(registration).status == RegistrationStatus.PENDING_PAYMENT
    again = payments.submit_proof(player, registration, proof(name="second.png"))
    db.session.commit()
    assert again.status == PaymentStatus.SUBMITTED
    assert count(Payment) == 2


def test_a_verified_proof_cannot_be_rejected(submitted, organizer):
    payments.verify(organizer, submitted)
    db.session.commit()
    with pytest.raises(Conflict, match="it was verified already"):
        payments.reject(organizer, submitted, "Too late")


def test_only_this_tournaments_staff_review_proofs(submitted, player, other_organizer,
                                                   make_tournament):
    make_tournament("other-cup", owner=other_organizer)
    for actor in (player, other_organizer):
        with pytest.raises(NotAllowed):
            payments.verify(actor, submitted)
        with pytest.raises(NotAllowed):
            payments.reject(actor, submitted, "No")
        with pytest.raises(NotAllowed):
            payments.refund(actor, submitted, "No")
    db.session.rollback()
    assert reload(submitted).status == PaymentStatus.SUBMITTED


def test_a_proof_of_a_registration_that_left_cannot_be_verified(submitted, organizer,
                                                                 registration):
    registration.status, registration.active = RegistrationStatus.WITHDRAWN, False
    db.session.commit()
    with pytest.raises(Conflict, match="no longer holds a slot"):
        payments.verify(organizer, submitted)


def test_two_verify_clicks_at_once_verify_once(app, submitted, organizer):
    payment_id, user_id = submitted.id, organizer.id

    def click():
        return payments.verify(db.session.get(User, user_id), db.session.get(Payment, payment_id))

    outcomes = concurrently(app, click, click)
    assert sorted(outcomes) == [False, True]
    assert actions().count("payment.verified") == 1


def test_verify_and_reject_at_once_have_exactly_one_outcome(app, submitted, organizer,
                                                            coordinator, registration):
    payment_id = submitted.id
    verify_as, reject_as = organizer.id, coordinator.id
    outcomes = concurrently(
        app,
        lambda: payments.verify(db.session.get(User, verify_as),
                                db.session.get(Payment, payment_id)),
        lambda: payments.reject(db.session.get(User, reject_as),
                                db.session.get(Payment, payment_id), "Blurry"),
    )
    assert sum(o is True for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    final = reload(submitted).status
    expected = (RegistrationStatus.CONFIRMED if final == PaymentStatus.VERIFIED
                else RegistrationStatus.PENDING_PAYMENT)
    assert reload(registration).status == expected
    assert len(actions("payment.verified", "payment.rejected")) == 1


def test_the_unique_index_turns_a_second_open_payment_into_a_clear_conflict(
        submitted, player, registration):
    twin = Payment(registration_id=registration.id, tournament_id=registration.tournament_id,
                   payer_id=player.id, method=PaymentMethod.PROOF,
                   status=PaymentStatus.SUBMITTED, amount=FEE)
    with pytest.raises(Conflict, match="made at the same moment"):
        payments._insert(twin)  # the last line of defence behind the row lock
    db.session.rollback()
    assert count(Payment) == 1


# --- refunds -------------------------------------------------------------------------


def test_refunding_a_wallet_payment_returns_the_coins_and_reopens_the_fee(
        paid, organizer, rich, cup, registration):
    assert payments.refund(organizer, paid, "Duplicate entry") is True
    db.session.commit()
    assert (coins(rich), pool(cup)) == (120, 0)
    assert (paid.status, paid.note) == (PaymentStatus.REFUNDED, "Duplicate entry")
    refund = db.session.get(LedgerTransaction, paid.refund_transaction_id)
    assert (refund.idempotency_key, refund.kind) == (f"refund:{paid.id}", "refund")
    assert reload(registration).status == RegistrationStatus.PENDING_PAYMENT
    assert actions()[-1] == "payment.refunded"


def test_refunding_twice_refunds_once(paid, organizer, rich):
    payments.refund(organizer, paid, "Once")
    db.session.commit()
    assert payments.refund(organizer, paid, "Twice") is False
    db.session.commit()
    assert coins(rich) == 120
    assert reload(paid).note == "Once"


def test_refunding_a_proof_payment_marks_it_refunded_without_moving_coins(
        submitted, organizer, registration):
    payments.verify(organizer, submitted)
    payments.refund(organizer, submitted, "Paid back by bank transfer")
    db.session.commit()
    assert (submitted.status, submitted.note, submitted.refund_transaction_id) == (
        PaymentStatus.REFUNDED, "Paid back by bank transfer", None)
    assert count(LedgerTransaction) == 0
    assert reload(registration).status == RegistrationStatus.PENDING_PAYMENT


def test_a_refund_needs_a_note_and_a_verified_payment(paid, submitted_elsewhere, organizer):
    with pytest.raises(Invalid, match="Add a note"):
        payments.refund(organizer, paid, "")
    with pytest.raises(Conflict, match="Only a paid entry fee can be refunded"):
        payments.refund(organizer, submitted_elsewhere, "No")
    db.session.rollback()
    assert reload(paid).status == PaymentStatus.VERIFIED


@pytest.fixture
def submitted_elsewhere(make_user, cup):
    other = make_user("other")
    payment = payments.submit_proof(other, register(other, cup), proof())
    db.session.commit()
    return payment


def test_refund_all_refunds_a_withdrawn_registrations_fee_and_closes_waiting_proofs(
        paid, rich, cup, registration, submitted_elsewhere):
    registration.status, registration.active = RegistrationStatus.WITHDRAWN, False
    assert payments.refund_all(rich, registration, "withdrawn") == 1
    other = submitted_elsewhere.registration
    other.status, other.active = RegistrationStatus.WITHDRAWN, False
    assert payments.refund_all(other.user, other, "withdrawn") == 0
    db.session.commit()
    assert (coins(rich), pool(cup)) == (120, 0)
    assert reload(registration).status == RegistrationStatus.WITHDRAWN
    assert (reload(submitted_elsewhere).status, submitted_elsewhere.note) == (
        PaymentStatus.REJECTED, "withdrawn")


# --- cancelling ----------------------------------------------------------------------


def test_cancelling_refunds_every_wallet_fee_once(make_user, organizer, cup, paid, rich,
                                                  submitted_elsewhere):
    second = make_user("second")
    fund(second, 50)
    payments.pay_with_wallet(second, register(second, cup))
    payments.verify(organizer, submitted_elsewhere)
    db.session.commit()
    assert pool(cup) == 100
    tournaments.transition(organizer, cup, Status.CANCELLED, Status.REGISTRATION)
    db.session.commit()
    assert (coins(rich), coins(second), pool(cup)) == (120, 50, 0)
    # A proof was paid outside the app: staff refund it themselves.
    assert reload(submitted_elsewhere).status == PaymentStatus.VERIFIED
    assert count(Payment, Payment.status == PaymentStatus.REFUNDED) == 2
    assert payments.refund_tournament(organizer, cup) == 0  # a second run refunds nothing
    db.session.commit()
    assert (coins(rich), coins(second)) == (120, 50)
    assert actions("tournament.entry_fees_refunded") == ["tournament.entry_fees_refunded"]


def test_only_a_cancelled_tournament_is_refunded_wholesale(paid, organizer, cup):
    with pytest.raises(Conflict):
        payments.refund_tournament(organizer, cup)


def test_a_payment_racing_a_cancellation_is_refunded_or_refused(app, rich, organizer, cup,
                                                                registration):
    user_id, registration_id, organizer_id, cup_id = rich.id, registration.id, organizer.id, cup.id
    outcomes = concurrently(
        app,
        lambda: payments.pay_with_wallet(db.session.get(User, user_id),
                                         db.session.get(Registration, registration_id)).id,
        lambda: tournaments.transition(db.session.get(User, organizer_id),
                                       db.session.get(Tournament, cup_id),
                                       Status.CANCELLED, Status.REGISTRATION),
    )
    assert not isinstance(outcomes[1], DomainError)
    assert (coins(rich), pool(cup)) == (120, 0)  # paid then refunded, or never paid
    assert count(Payment, Payment.status == PaymentStatus.VERIFIED) == 0


# --- reading -------------------------------------------------------------------------


