"""End to end in a real Chromium: spectators on the tournament overview and on a filtered
live matches list see a match finish without reloading (issue 6)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Status, Visibility
from app.services import brackets, matches
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import play, row
from tests.integration.test_registrations import do

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def cup(make_tournament, make_field, organizer):
    """A published 4-entrant single elimination, nothing played yet."""
    cup = make_tournament("e2e-live-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)
    make_field(cup, 4)
    made = generate(organizer, cup)
    do(lambda: brackets.finalize(organizer, cup, made.version))
    return cup, made


def test_overview_and_filtered_live_list_follow_a_finished_match(make_page, cup):
    cup, bracket = cup
    first, second = row(bracket, 0), row(bracket, 1)
    winner = matches.registrations_of(first)[0].name
    other = matches.registrations_of(second)[0].name
    db.session.rollback()  # hold no transaction open while the server writes

    overview = make_page()
    overview.goto(f"/t/{cup.slug}")
    region = overview.locator(f"#tournament-{cup.id}-overview")
    expect(region.locator("dd").nth(1)).to_have_text("0 / 3")
    listing = make_page(**PHONE)
    listing.goto(f"/t/{cup.slug}/matches")
    # The search filters in place (no reload) and is kept in the address.
    listing.get_by_role("searchbox", name="Entrant").fill(winner)
    expect(listing).to_have_url(f"{listing.url.split('?')[0]}?q={winner.replace(' ', '+')}")
    rows = listing.locator(".live-row:visible")
    expect(rows).to_have_count(1)
    for page in (overview, listing):
        expect(page.locator("#live-socket")).to_have_count(1)
        expect(page.locator("#live-status")).to_be_hidden()

    play(first)

    finished = listing.get_by_role("region", name="Recently finished")
    expect(finished.locator(".live-row")).to_contain_text(winner)
    expect(rows).to_have_count(1)  # the pushed list is the unfiltered one: filtered again
    expect(listing.get_by_text(other)).to_be_hidden()
    expect(listing.get_by_role("region", name="About to start")).to_be_hidden()
    expect(region.locator("dd").nth(1)).to_have_text("1 / 3")
    expect(region.locator(".live-row")).to_have_count(1)  # only the other semi-final waits
