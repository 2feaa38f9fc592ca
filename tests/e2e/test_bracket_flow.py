"""End to end in a real browser: an organizer previews a random draw of a 16-entrant double
elimination, generates exactly that draw and finalizes it; a spectator's open bracket page
shows it without a reload.

Every page is checked at a 375 px phone width too: the page itself never scrolls sideways (only
the bracket's rounds do). Set E2E_SHOTS_DIR (e.g. /tmp/shots) to save a full-page screenshot of
each step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Format, GrandFinal, Status, Tournament
from app.services import brackets, seeding
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def step(page: Page, name: str) -> None:
    """The page body fits its viewport; with E2E_SHOTS_DIR set, save what it looks like."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name}: too wide"
    if shots := os.environ.get("E2E_SHOTS_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


@pytest.fixture
def sixteen(make_tournament, make_field) -> Tournament:
    cup = make_tournament("double-cup", status=Status.CHECK_IN, capacity=32,
                          format=Format.DOUBLE_ELIMINATION, grand_final=GrandFinal.RESET,
                          best_of=3, best_of_finals=5)
    make_field(cup, 16)
    make_field(cup, 1, checked_in=False, prefix="late")
    return cup


def test_organizer_previews_generates_and_finalizes_and_spectators_see_it_live(
        make_page, sixteen, organizer):
    slug, name = sixteen.slug, organizer.username
    db.session.rollback()  # hold no transaction open while the server writes

    # A spectator opens the bracket page before anything is published.
    spectator = make_page(**DESKTOP)
    spectator.goto(f"/t/{slug}/bracket")
    region = spectator.locator("#bracket")
    expect(region).to_contain_text("The bracket is not published yet.")
    expect(spectator.locator("#live-socket")).to_have_count(1)

    # 1. The organizer previews a random draw.
    staff = make_page(**DESKTOP)
    staff.on("dialog", lambda dialog: dialog.accept())
    log_in(staff, name)
    staff.goto(f"/manage/t/{slug}/bracket")
    expect(staff.get_by_role("region", name="Who is seeded")).to_contain_text(
        "16 entrants will be seeded")
    expect(staff.get_by_role("region", name="Who is seeded")).to_contain_text(
        "Entrant 17 — did not check in")
    staff.get_by_label("Seeding").select_option("random")
    staff.get_by_role("button", name="Preview").click()
    preview = staff.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("Random draw with RNG seed")
    for title in ("Winners bracket", "Losers bracket", "Grand final reset (if needed)"):
        expect(preview.get_by_role("heading", name=title, exact=True)).to_be_visible()
    rng_seed = int(re.search(r"RNG seed\s+(\d+)", preview.inner_text())[1])
    first_seed = preview.locator(".seed-grid__name").first.inner_text()
    step(staff, "bracket-1-organizer-preview-desktop")

    # 2. Generate exactly that draw.
    preview.get_by_role("button", name="Generate this bracket").click()
    expect(staff.get_by_role("alert").first).to_contain_text("Bracket generated with 16 entrants")
    current = staff.get_by_role("region", name="Current bracket")
    expect(current).to_contain_text(f"RNG seed {rng_seed}")
    expect(current.locator(".badge")).to_have_text("Draft")
    expect(region).to_contain_text("The bracket is not published yet.")  # a draft stays private

    # 3. Finalize: the spectator's page shows the bracket by itself.
    current.get_by_role("button", name="Finalize and publish").click()
    expect(staff.get_by_role("alert").first).to_contain_text("finalized and public")
    expect(region).not_to_contain_text("not published yet", timeout=10_000)
    expect(region.locator(".match").first).to_contain_text(first_seed)
    expect(region.get_by_role("heading", name="Winners round 1", exact=True)).to_be_visible()
    db.session.rollback()
    bracket = brackets.current(db.session.get(Tournament, sixteen.id))
    assert bracket.finalized and bracket.rng_seed == rng_seed
    expect(region.locator(f"#match-{bracket.id}-0")).to_be_visible()
    spectator.reload()
    step(spectator, "bracket-2-public-desktop")


def test_bracket_pages_fit_a_phone(make_page, sixteen, organizer):
    slug, name = sixteen.slug, organizer.username
    db.session.rollback()
    staff = make_page(**PHONE)
    staff.on("dialog", lambda dialog: dialog.accept())
    log_in(staff, name)
    staff.goto(f"/manage/t/{slug}/bracket")
    staff.get_by_role("button", name="Preview").click()
    preview = staff.get_by_role("region", name="Preview")
    expect(preview.get_by_role("heading", name="Losers bracket", exact=True)).to_be_visible()
    step(staff, "bracket-3-organizer-preview-phone")

    # The rounds scroll sideways inside their region; the page does not.
    rounds = preview.locator(".bracket-viewport").first
    assert rounds.evaluate("el => el.scrollWidth > el.clientWidth")
    rounds.evaluate("el => el.scrollBy(400, 0)")
    step(staff, "bracket-4-organizer-preview-phone-scrolled")

    preview.get_by_role("button", name="Generate this bracket").click()
    staff.get_by_role("button", name="Finalize and publish").click()
    expect(staff.get_by_role("alert").first).to_contain_text("finalized and public")
    step(staff, "bracket-5-organizer-current-phone")

    spectator = make_page(**PHONE)
    spectator.goto(f"/t/{slug}")
    spectator.get_by_role("link", name="Bracket", exact=True).click()
    expect(spectator.locator("#bracket .match").first).to_be_visible()
    step(spectator, "bracket-6-public-phone")


def test_manual_seeds_move_with_buttons_and_typed_numbers_and_ratings_save(
        make_page, sixteen, organizer):
    slug, tournament_id, name = sixteen.slug, sixteen.id, organizer.username
    db.session.rollback()
    staff = make_page(**PHONE)
    log_in(staff, name)
    staff.goto(f"/manage/t/{slug}/bracket/seeds")

    def seed(label: str):
        return staff.get_by_label(label, exact=True)

    staff.get_by_role("button", name="Move Entrant 2 up", exact=True).click()
    expect(seed("Seed of Entrant 2")).to_have_value("1")
    expect(seed("Seed of Entrant 1")).to_have_value("2")
    expect(staff.get_by_role("button", name="Move Entrant 2 up", exact=True)).to_be_focused()
    seed("Seed of Entrant 3").fill("16")
    seed("Seed of Entrant 3").blur()  # a typed seed moves the row there; the rest renumber
    expect(seed("Seed of Entrant 16")).to_have_value("15")
    expect(staff.locator(".seed-row__name").last).to_have_text("Entrant 3")
    step(staff, "bracket-7-seeds-phone")
    staff.get_by_role("button", name="Save seed order").click()
    expect(staff.get_by_role("alert").first).to_contain_text("Seed order saved")

    db.session.rollback()
    tournament = db.session.get(Tournament, tournament_id)
    draft = seeding.draft(tournament)
    names = {r.id: r.name for r in seeding.eligibility(tournament)[0]}
    order = [names[rid] for rid in draft.registration_ids]
    assert order[:3] == ["Entrant 2", "Entrant 1", "Entrant 4"] and order[-1] == "Entrant 3"

    staff.goto(f"/manage/t/{slug}/ratings")
    staff.get_by_label("Rating of Entrant 1", exact=True).fill("1850")
    staff.get_by_label("Club/region of Entrant 1", exact=True).fill("Berlin")
    staff.get_by_role("button", name="Save ratings").click()
    expect(staff.get_by_role("alert").first).to_have_text("Saved 1 rating.")
    expect(staff.get_by_label("Rating of Entrant 1", exact=True)).to_have_value("1850")
    step(staff, "bracket-8-ratings-phone")

