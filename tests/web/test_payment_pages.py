"""Payment pages: the player's entry fee page, the staff's review page, proof downloads."""

from __future__ import annotations

import io
import re
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Payment,
    PaymentStatus,
    RegistrationStatus,
    StaffMember,
    StaffRole,
    Visibility,
)
from app.services import payments
from tests.conftest import login
from tests.integration.test_payments import FEE, coins, count, fund, pool, proof, register
from tests.integration.test_uploads import HTML, image_bytes, pdf_bytes, zip_bytes


@pytest.fixture
def cup(make_tournament):
    return make_tournament("paid-cup", entry_fee=FEE)


@pytest.fixture
def registration(player, cup):
    return register(player, cup)


@pytest.fixture
def as_player(client, player, registration):
    fund(player, 120)
    login(client, player)
    return client


@pytest.fixture
def as_organizer(client, organizer):
    login(client, organizer)
    return client


@pytest.fixture
def submitted(player, registration):
    payment = payments.submit_proof(player, registration, proof())
    db.session.commit()
    return payment


def page(client, slug="paid-cup") -> str:
    response = client.get(f"/t/{slug}/payment")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def pay(client, registration, slug="paid-cup"):
    return client.post(f"/t/{slug}/payment/wallet", data={"registration_id": registration.id})


def upload(client, registration, data: bytes | None, name="receipt.png",
           content_type="image/png"):
    form = {"registration_id": registration.id}
    if data is not None:
        form["proof"] = (io.BytesIO(data), name, content_type)
    return client.post("/t/paid-cup/payment/proof", data=form,
                       content_type="multipart/form-data")


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the player's page ---------------------------------------------------------------


def test_the_page_shows_the_fee_the_status_and_both_ways_to_pay(as_player):
    html = page(as_player)
    assert "50 coins" in html and "Entry fee due" in html and "Not paid" in html
    assert "Pay 50 coins from your wallet (balance 120)" in html
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html


def test_paying_confirms_and_a_second_click_says_already_paid(as_player, player, cup,
                                                              registration):
    response = pay(as_player, registration)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/paid-cup/payment")
    html = page(as_player)
    assert "Paid 50 coins from your wallet. Your registration is confirmed." in html
    assert "Confirmed" in html and "Pay 50 coins" not in html
    assert pay(as_player, registration).status_code == 303
    assert "Your entry fee is already paid; nothing more was charged." in page(as_player)
    assert (coins(player), pool(cup), count(Payment)) == (70, FEE, 1)


def test_two_pay_requests_at_once_pay_once(app, player, cup, registration):
    fund(player, 120)
    barrier = threading.Barrier(2)
    statuses = []
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        login(client, player)
    form = {"registration_id": registration.id}  # threads must not touch this session's objects

    def click(client) -> None:
        barrier.wait()
        statuses.append(client.post("/t/paid-cup/payment/wallet", data=form).status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    db.session.rollback()
    assert statuses == [303, 303]
    assert (coins(player), pool(cup), count(Payment)) == (70, FEE, 1)


def test_without_enough_coins_the_button_is_disabled_and_a_post_is_refused(
        client, player, cup, registration):
    fund(player, 20)
    login(client, player)
    html = page(client)
    assert re.search(r"<button type=\"submit\" class=\"secondary\" disabled>Not enough coins", html)
    assert "You need 30 more" in html
    response = pay(client, registration)
    assert response.status_code == 409
    assert "Not enough coins: the entry fee is 50 and your wallet holds 20." in text(response)
    assert (coins(player), count(Payment)) == (20, 0)


def test_a_free_tournament_has_nothing_to_pay(client, player, make_tournament):
    free = make_tournament("free-cup")
    registration = register(player, free, RegistrationStatus.CONFIRMED)
    login(client, player)
    assert "Free Cup is free: there is no entry fee to pay." in page(client, "free-cup")
    response = pay(client, registration, "free-cup")
    assert response.status_code == 400
    assert "Free Cup is free" in text(response)
    assert count(Payment) == 0


def test_a_waitlisted_player_is_told_to_wait(client, player, cup):
    registration = register(player, cup, RegistrationStatus.WAITLISTED)
    fund(player, 100)
    login(client, player)
    assert "You are on the waitlist" in page(client)
    assert pay(client, registration).status_code == 409
    assert coins(player) == 100


def test_another_players_registration_cannot_be_paid(as_player, make_user, cup):
    theirs = register(make_user("someone"), cup)
    assert pay(as_player, theirs).status_code == 403
    assert upload(as_player, theirs, image_bytes()).status_code == 403
    assert count(Payment) == 0


def test_a_registration_of_another_tournament_is_not_found(as_player, make_user,
                                                           make_tournament):
    elsewhere = register(make_user("someone"), make_tournament("other-cup", entry_fee=5))
    assert pay(as_player, elsewhere).status_code == 404


def test_someone_not_registered_is_told_so(client, make_user, cup):
    login(client, make_user("visitor"))
    assert "You are not registered in Paid Cup." in page(client)


def test_a_private_tournament_stays_hidden_from_strangers(client, make_user, make_tournament):
    make_tournament("secret-cup", entry_fee=5, visibility=Visibility.PRIVATE)
    login(client, make_user("visitor"))
    assert client.get("/t/secret-cup/payment").status_code == 404


# --- uploading a proof ---------------------------------------------------------------


def test_a_proof_is_sent_and_the_page_says_it_waits_for_staff(as_player, registration):
    response = upload(as_player, registration, image_bytes("JPEG"), "photo.jpg", "image/jpeg")
    assert response.status_code == 303
    html = page(as_player)
    assert "Your payment proof was sent." in html and "Waiting for staff" in html
    assert "“photo.jpg”" in html and "Send proof" not in html
    assert db.session.scalar(select(Payment.proof_content_type)) == "image/jpeg"


@pytest.mark.parametrize("data, name, status, message", [
    (HTML, "receipt.png", 400, "“receipt.png” is named like a PNG but its content is an HTML "
                               "page. Only JPG, PNG or PDF files are accepted"),
    (zip_bytes(), "invoice.pdf", 400, "named like a PDF but its content is a ZIP archive"),
    (b"", "receipt.png", 400, "“receipt.png” is empty."),
    (None, "", 400, "Choose a file to upload."),
    (image_bytes().ljust(int(5.5 * 1024 * 1024), b"\0"), "big.png", 413,
     "“big.png” is 5.5 MB; files may be at most 5 MB. Nothing was uploaded."),
    (pdf_bytes().ljust(7 * 1024 * 1024), "huge.pdf", 413, "Files may be at most 5 MB."),
], ids=["html-as-png", "zip-as-pdf", "empty", "no-file", "5.5-mb", "7-mb"])
def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_changes(
        app, as_player, registration, data, name, status, message):
    response = upload(as_player, registration, data, name)
    assert response.status_code == status
    assert message in text(response)
    assert count(Payment) == 0


# --- the staff's page ----------------------------------------------------------------


def test_proofs_waiting_for_review_come_first(as_organizer, make_user, cup, submitted):
    early = make_user("early")
    fund(early, 50)
    payments.pay_with_wallet(early, register(early, cup))
    db.session.commit()
    html = text(as_organizer.get("/manage/t/paid-cup/payments"))
    assert "Proofs to review (1)" in html
    assert html.index(f'id="payment-{submitted.id}"') < html.index("All other payments")
    assert html.index("All other payments") < html.index("Early")
    assert f"/payments/{submitted.id}/proof" in html and "Verify" in html


def test_staff_verify_a_proof_and_a_second_click_changes_nothing(as_organizer, submitted,
                                                                 registration):
    url = f"/manage/t/paid-cup/payments/{submitted.id}/verify"
    assert as_organizer.post(url).status_code == 303
    assert as_organizer.post(url).status_code == 303
    html = text(as_organizer.get("/manage/t/paid-cup/payments"))
    assert "The payment of Player was verified already." in html
    db.session.refresh(registration)
    assert registration.status == RegistrationStatus.CONFIRMED


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(as_organizer, submitted):
    response = as_organizer.post(f"/manage/t/paid-cup/payments/{submitted.id}/reject",
                                 data={"reason": "  "})
    assert response.status_code == 400
    assert "Say why the proof is rejected; the player will see it." in text(response)
    db.session.refresh(submitted)
    assert submitted.status == PaymentStatus.SUBMITTED


def test_the_player_sees_the_rejection_reason_and_can_send_another(
        client, as_organizer, player, submitted, registration):
    response = as_organizer.post(f"/manage/t/paid-cup/payments/{submitted.id}/reject",
                                 data={"reason": "The receipt shows 5 coins, not 50."})
    assert response.status_code == 303
    login(client, player)
    html = page(client)
    assert "Your proof was rejected" in html
    assert "The receipt shows 5 coins, not 50." in html and "Send a new proof" in html
    assert upload(client, registration, pdf_bytes(), "better.pdf").status_code == 303
    assert count(Payment, Payment.status == PaymentStatus.SUBMITTED) == 1


def test_staff_refund_a_wallet_payment_with_a_note(as_organizer, player, cup, registration):
    fund(player, 50)
    payment = payments.pay_with_wallet(player, registration)
    db.session.commit()
    url = f"/manage/t/paid-cup/payments/{payment.id}/refund"
    assert as_organizer.post(url, data={"note": ""}).status_code == 400
    assert as_organizer.post(url, data={"note": "Entered twice"}).status_code == 303
    assert "50 coins refunded to Player to their wallet." in text(
        as_organizer.get("/manage/t/paid-cup/payments"))
    assert (coins(player), pool(cup)) == (50, 0)


def test_a_payment_of_another_tournament_is_not_found_here(as_organizer, make_user,
                                                           make_tournament, submitted):
    make_tournament("mine-too", entry_fee=5)
    response = as_organizer.post(f"/manage/t/mine-too/payments/{submitted.id}/verify")
    assert response.status_code == 404
    db.session.refresh(submitted)
    assert submitted.status == PaymentStatus.SUBMITTED


def test_coordinators_review_and_players_may_not(client, make_user, cup, player, submitted):
    coordinator = make_user("coord")
    db.session.add(StaffMember(tournament_id=cup.id, user_id=coordinator.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    login(client, player)
    assert client.get("/manage/t/paid-cup/payments").status_code == 403
    assert client.post(f"/manage/t/paid-cup/payments/{submitted.id}/verify").status_code == 403
    login(client, coordinator)
    assert client.get("/manage/t/paid-cup/payments").status_code == 200
    assert client.post(f"/manage/t/paid-cup/payments/{submitted.id}/verify").status_code == 303


# --- downloading a proof -------------------------------------------------------------


def test_a_proof_downloads_as_an_attachment_that_is_never_sniffed(as_organizer, submitted):
    response = as_organizer.get(f"/payments/{submitted.id}/proof")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert f"payment-{submitted.id}-proof.png" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "image/png"
    assert response.data == image_bytes("PNG")


def test_only_the_payer_staff_and_admins_download_a_proof(client, make_user, player, admin,
                                                          other_organizer, submitted):
    url = f"/payments/{submitted.id}/proof"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user, status in ((player, 200), (admin, 200), (other_organizer, 403),
                         (make_user("stranger"), 403)):
        login(client, user)
        assert client.get(url).status_code == status, user.username
    assert client.get("/payments/999999/proof").status_code == 404
