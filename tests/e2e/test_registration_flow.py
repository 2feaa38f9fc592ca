"""End to end in a real browser: a captain registers a team, pays the entry fee by proof, the
organizer verifies it, and the team checks in.

Both people use a phone-sized screen, and every step checks that the page fits it. Set
E2E_SHOTS_DIR (e.g. /tmp/e2e_shots) to also save a full-page screenshot of each step.
"""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditLog,
    Game,
    MemberRole,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Team,
    TeamMember,
    Tournament,
    utcnow,
)
from tests.e2e.conftest import log_in

# One test process runs them all, so Chromium starts once.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
FEE = 50


def png_1x1() -> bytes:
    """A valid 1x1 RGB PNG (signature, IHDR, IDAT, IEND with correct CRCs)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # width, height, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x80\x00")  # filter byte, then one orange pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def step(page: Page, name: str) -> None:
    """The page fits a 375 px phone; with E2E_SHOTS_DIR set, save what it looks like."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, f"{name}: too wide"
    if shots := os.environ.get("E2E_SHOTS_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def counter(participants: Locator, term: str) -> Locator:
    """The value of one of the participant counters ("Registered", "Checked in", ...)."""
    return participants.locator(".counters div").filter(
        has=participants.page.locator("dt", has_text=term)).locator("dd")


@pytest.fixture
def duo_game(app) -> Game:
    game = Game(name="Duo Arena", team_size=2)
    db.session.add(game)
    db.session.commit()
    return game


@pytest.fixture
def duo_cup(make_tournament, duo_game) -> Tournament:
    """A team tournament taking registrations now; check-in opens in 90 minutes."""
    start = utcnow() + timedelta(hours=2)
    return make_tournament(
        "duo-cup", game_id=duo_game.id, team_based=True, capacity=8, entry_fee=FEE,
        max_substitutes=1, starts_at=start, registration_opens_at=utcnow() - timedelta(hours=1),
        registration_closes_at=start - timedelta(hours=1),
        checkin_opens_at=start - timedelta(minutes=30), checkin_closes_at=start)


@pytest.fixture
def owls(make_user) -> Team:
    """A team of three: its captain, Ann and Bob."""
    captain = make_user("captain", display_name="Cara Captain")
    ann = make_user("ann", display_name="Ann Archer")
    bob = make_user("bob", display_name="Bob Bench")
    team = Team(name="Night Owls", captain_id=captain.id,
                members=[TeamMember(user_id=u.id) for u in (captain, ann, bob)])
    db.session.add(team)
    db.session.commit()
    return team


def test_team_registers_pays_by_proof_gets_verified_and_checks_in(
        make_page, duo_cup, owls, organizer, tmp_path):
    tournament_id, slug = duo_cup.id, duo_cup.slug
    team_id, captain_id = owls.id, owls.captain_id
    ann_id, bob_id = (m.user_id for m in owls.members[1:])
    organizer_id, organizer_name = organizer.id, organizer.username
    db.session.rollback()  # hold no transaction open while the server writes

    # 1. The captain registers the team: two players and a substitute.
    captain = make_page(**PHONE)
    log_in(captain, "captain")
    captain.goto(f"/t/{slug}")
    box = captain.get_by_role("region", name="Take part")
    box.get_by_role("checkbox", name="Cara Captain plays", exact=True).check()
    box.get_by_role("checkbox", name="Ann Archer plays", exact=True).check()
    box.get_by_role("checkbox", name="Bob Bench plays", exact=True).uncheck()
    box.get_by_role("checkbox", name="Bob Bench is a substitute", exact=True).check()
    step(captain, "1a-captain-fills-roster")
    box.get_by_role("button", name="Register Night Owls").click()

    expect(captain.get_by_role("alert")).to_have_text(
        f"Night Owls is registered. Pay the entry fee of {FEE} coins to confirm its place.")
    box = captain.get_by_role("region", name="Your registration")
    expect(box.get_by_text("Entry fee due", exact=True)).to_be_visible()
    expect(box).to_contain_text(f"confirmed once the entry fee of {FEE} coins is paid")
    step(captain, "1b-captain-registered")

    # 2. The captain follows the pay link and sends a PNG receipt.
    box.get_by_role("link", name="Entry fee due: pay here").click()
    expect(captain).to_have_url(re.compile(rf"/t/{slug}/payment$"))
    expect(captain.get_by_role("heading", name="Entry fee", exact=True)).to_be_visible()
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(png_1x1())
    captain.get_by_label("Payment proof").set_input_files(receipt)
    step(captain, "2a-captain-payment-page")
    captain.get_by_role("button", name="Send proof").click()

    expect(captain.get_by_role("alert")).to_contain_text("Your payment proof was sent.")
    waiting = captain.get_by_role("region", name="Waiting for staff")
    expect(waiting).to_contain_text("You sent “receipt.png”")
    expect(captain.locator("dd .badge").filter(has_text="Waiting for review")).to_be_visible()
    expect(captain.get_by_role("button", name="Send proof")).to_have_count(0)
    step(captain, "2b-captain-proof-waiting")

    # 3. The organizer, on their own phone, downloads the proof and verifies it.
    staff = make_page(**PHONE)
    log_in(staff, organizer_name)
    staff.goto(f"/manage/t/{slug}/payments")
    queue = staff.get_by_role("region", name="Proofs to review (1)")
    card = queue.get_by_role("article").filter(has_text="Night Owls")
    expect(card).to_contain_text(f"Payment proof · {FEE} coins · by Cara Captain")
    expect(card).to_contain_text("“receipt.png”, PNG")
    step(staff, "3a-staff-review-queue")
    with staff.expect_download() as download:
        card.get_by_role("link", name="Download proof").click()
    assert Path(download.value.path()).read_bytes() == png_1x1()
    card.get_by_role("button", name="Verify the payment of Night Owls").click()

    expect(staff.get_by_role("alert")).to_have_text(
        "Payment of Night Owls verified; the registration is confirmed.")
    expect(staff.get_by_role("region", name="Proofs to review (0)")).to_contain_text(
        "No proofs are waiting for review.")
    others = staff.get_by_role("region", name="All other payments")
    expect(others.get_by_role("article").filter(has_text="Night Owls").locator(".badge")
           ).to_have_text("Paid")
    step(staff, "3b-staff-verified")

    captain.reload()
    expect(captain.get_by_role("status")).to_contain_text(
        f"Paid {FEE} coins by payment proof, verified by staff")
    step(captain, "3c-captain-sees-paid")

    # 4. Check-in opens (the schedule would move the window; here the test does).
    tournament = db.session.get(Tournament, tournament_id)
    tournament.checkin_opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    captain.goto(f"/t/{slug}")
    box = captain.get_by_role("region", name="Your registration")
    expect(box.get_by_text("Confirmed", exact=True)).to_be_visible()
    expect(box).to_contain_text("Check-in is open until")
    expect(counter(captain.get_by_role("region", name="Participants"), "Checked in")
           ).to_have_text("0")
    step(captain, "4a-captain-checkin-open")
    box.get_by_role("button", name="Check the team in").click()

    expect(captain.get_by_role("alert")).to_have_text(
        "Checked in: Night Owls is ready to play.")
    box = captain.get_by_role("region", name="Your registration")
    expect(box.locator(".badge").filter(has_text="Checked in")).to_be_visible()
    expect(box.get_by_role("button", name="Undo check-in")).to_be_visible()
    expect(box.get_by_role("button", name="Check the team in")).to_have_count(0)
    participants = captain.get_by_role("region", name="Participants")
    entrant = participants.get_by_role("listitem").filter(has_text="Night Owls")
    expect(entrant).to_contain_text("Cara Captain, Ann Archer, Bob Bench (sub)")
    expect(entrant.locator(".badge")).to_have_text("Checked in")
    expect(counter(participants, "Registered")).to_have_text("1 / 8")
    expect(counter(participants, "Checked in")).to_have_text("1")
    step(captain, "4b-captain-checked-in")

    # 5. What the server committed.
    db.session.rollback()
    registration = db.session.scalar(
        select(Registration).where(Registration.tournament_id == tournament_id))
    assert registration.team_id == team_id
    assert registration.user_id == captain_id
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.checked_in_at is not None
    assert registration.checked_in_by_id == captain_id
    assert {(m.user_id, m.role) for m in registration.members} == {
        (captain_id, MemberRole.PLAYER), (ann_id, MemberRole.PLAYER),
        (bob_id, MemberRole.SUBSTITUTE)}

    payment = db.session.scalar(select(Payment).where(Payment.registration_id == registration.id))
    assert (payment.method, payment.status, payment.amount) == (
        PaymentMethod.PROOF, PaymentStatus.VERIFIED, FEE)
    assert (payment.payer_id, payment.reviewed_by_id) == (captain_id, organizer_id)
    assert (payment.proof_content_type, payment.proof_original_name) == ("image/png",
                                                                        "receipt.png")

    steps = db.session.execute(
        select(AuditLog.action, AuditLog.actor_id, AuditLog.object_type, AuditLog.object_id)
        .where(AuditLog.tournament_id == tournament_id,
               AuditLog.action.in_(["registration.created", "payment.proof_submitted",
                                    "payment.verified", "registration.checked_in"]))
        .order_by(AuditLog.id)).all()
    assert [tuple(row) for row in steps] == [
        ("registration.created", captain_id, "registration", registration.id),
        ("payment.proof_submitted", captain_id, "payment", payment.id),
        ("payment.verified", organizer_id, "payment", payment.id),
        ("registration.checked_in", captain_id, "registration", registration.id),
    ]


def test_an_open_tournament_page_shows_a_check_in_without_reload(make_page, duo_cup, owls):
    # A slow phone network: the WebSocket extension (hx-ws) arrives 300 ms after htmx. The
    # page must still open its live socket (htmx must not process the page before hx-ws is in).
    def late(route: Route) -> None:
        time.sleep(0.3)
        route.continue_()

    duo_cup.checkin_opens_at = utcnow() - timedelta(minutes=1)
    db.session.add(confirmed_registration(duo_cup, owls))
    db.session.commit()
    slug = duo_cup.slug
    db.session.rollback()

    spectator = make_page(**PHONE)
    spectator.route("**/hx-ws-*.js", late)
    spectator.goto(f"/t/{slug}")
    watched = spectator.get_by_role("region", name="Participants")
    expect(watched.get_by_role("listitem").filter(has_text="Night Owls")).to_be_visible()
    expect(counter(watched, "Checked in")).to_have_text("0")

    captain = make_page()
    log_in(captain, "captain")
    captain.goto(f"/t/{slug}")
    captain.get_by_role("button", name="Check the team in").click()
    expect(captain.get_by_role("alert")).to_have_text("Checked in: Night Owls is ready to play.")

    expect(counter(watched, "Checked in")).to_have_text("1")
    expect(watched.get_by_role("listitem").filter(has_text="Night Owls").locator(".badge")
           ).to_have_text("Checked in")
    step(spectator, "5-spectator-sees-live-checkin")


def confirmed_registration(tournament: Tournament, team: Team) -> Registration:
    """The team registered and paid: its first two members play, the third is a substitute."""
    roles = [MemberRole.PLAYER, MemberRole.PLAYER, MemberRole.SUBSTITUTE]
    return Registration(
        tournament_id=tournament.id, user_id=team.captain_id, team_id=team.id,
        status=RegistrationStatus.CONFIRMED, active=True,
        members=[RegistrationMember(tournament_id=tournament.id, user_id=member.user_id,
                                    role=role, active=True)
                 for member, role in zip(team.members, roles, strict=True)])
