"""Smoke test in a real browser: sign up, then create a tournament through the forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Game, Tournament, User

# One test process runs them all, so Chromium starts once.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]


@pytest.fixture
def solo_game(app) -> Game:
    game = Game(name="Chess", team_size=1)
    db.session.add(game)
    db.session.commit()
    return game


def test_new_user_signs_up_and_creates_a_tournament(make_page, solo_game):
    # An organizer in Berlin: the form offers their zone and reads the times in it.
    page = make_page(timezone_id="Europe/Berlin")
    page.goto("/signup")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Display name").fill("New Comer")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password").fill("long-enough-42")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="New Comer")).to_be_visible()

    page.goto("/manage/tournaments/new")
    page.locator("[name=name]").fill("Smoke Test Cup")
    page.locator("[name=game]").select_option(str(solo_game.id))
    page.locator("[name=format]").select_option("single_elimination")
    page.locator("[name=capacity]").fill("8")
    expect(page.locator("[name=timezone]")).to_have_value("Europe/Berlin")
    page.locator("[name=starts_at]").fill("2031-05-01T18:30")
    page.get_by_role("button", name="Create tournament").click()

    expect(page.locator("h1")).to_have_text("Smoke Test Cup")
    db.session.rollback()  # a fresh snapshot: see what the server committed
    tournament = db.session.scalar(select(Tournament).where(Tournament.name == "Smoke Test Cup"))
    assert page.url.endswith(f"/manage/t/{tournament.slug}/")
    assert tournament.slug == "smoke-test-cup"
    assert tournament.starts_at == datetime(2031, 5, 1, 16, 30, tzinfo=UTC)  # 18:30 CEST
    assert tournament.created_by_id == db.session.scalar(
        select(User.id).where(User.username == "newcomer"))


def test_signup_page_fits_a_phone_screen(make_page):
    page = make_page(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page.goto("/signup")

    expect(page.get_by_role("button", name="Sign up")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
