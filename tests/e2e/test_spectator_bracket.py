"""End to end in a real browser: a spectator's bracket page follows a result that the two
players report and confirm through their match page forms, without a reload (issue 6,
"Done when"): the card changes, the winner appears in the next card, the standings follow.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Format, Status, Visibility
from app.services import brackets, matches
from tests.e2e.conftest import log_in
from tests.e2e.test_match_flow import alert, arrives, submit
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import row
from tests.integration.test_registrations import do

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def cup(make_tournament, make_field, organizer):
    """A live, public 4-entrant single elimination, best of 1."""
    tournament = make_tournament(
        "spectator-cup", status=Status.LIVE, visibility=Visibility.PUBLIC, capacity=4,
        format=Format.SINGLE_ELIMINATION, best_of=1)
    make_field(tournament, 4)
    bracket = generate(organizer, tournament)
    do(lambda: brackets.finalize(organizer, tournament, bracket.version))
    return tournament


def test_the_spectator_bracket_shows_a_confirmed_result_without_a_reload(make_page, cup):
    slug, bracket = cup.slug, brackets.current(cup)
    semi = row(bracket, 0)
    winner, loser = (r.user for r in matches.registrations_of(semi))
    usernames, winner_name = (winner.username, loser.username), winner.display_name
    card_id, final_id = f"#match-{bracket.id}-0", f"#match-{bracket.id}-2"
    db.session.rollback()

    spectator = make_page(**DESKTOP)  # anonymous
    spectator.goto(f"/t/{slug}/bracket")
    card, final = spectator.locator(card_id), spectator.locator(final_id)
    link = card.get_by_role("link")
    expect(link).to_have_accessible_name(re.compile(
        r"^Semi-finals, match 1: Entrant \d, Entrant \d, (scheduled|check-in open)$"))
    expect(final).to_contain_text("Winner of M1")
    expect(spectator.get_by_role("button", name="Zoom in")).to_be_visible()  # the script ran
    # The tools: zoom out, then show completed matches only (the others dim, nothing moves).
    spectator.get_by_role("button", name="Zoom out").click()
    expect(spectator.locator(".bracket-tools__level")).to_have_text("80%")
    spectator.get_by_label("State").select_option("completed")
    expect(card).to_have_class(re.compile(r"\bis-dimmed\b"))
    spectator.evaluate("window.stillTheSamePage = true")
    match_url = link.get_attribute("href")

    # The two players, each in their own browser context, on the match page.
    pages = []
    for username in usernames:
        player = make_page(**DESKTOP)
        log_in(player, username)
        player.goto(match_url)
        submit(player.get_by_role("button", name="Check in", exact=True))
        arrives(alert(player, "You are checked in."))
        pages.append(player)
    expect(card).to_contain_text("Ready to play")  # pushed: the page was not reloaded
    reporter, answerer = pages
    reporter.locator('input[name="game-1-a"]').fill("1")
    reporter.locator('input[name="game-1-b"]').fill("0")
    submit(reporter.get_by_role("button", name="Report the score"))
    arrives(alert(reporter, "Score reported"))
    expect(card).to_contain_text("Result reported")
    submit(arrives(answerer.get_by_role("button", name="Confirm the result")))
    arrives(alert(answerer, "Result confirmed."))

    expect(card.locator(".match__slot--won")).to_contain_text(winner_name)
    expect(card).to_have_class(re.compile(r"\bmatch--completed\b"))
    expect(card).not_to_have_class(re.compile(r"\bis-dimmed\b"))  # the filter, applied again
    expect(link).to_have_accessible_name(re.compile(
        r"^Semi-finals, match 1: .+ 1, .+ 0, completed$"))
    expect(final.locator(".match__slot--entrant")).to_contain_text(winner_name)  # moved on
    expect(spectator.locator(".bracket-standings")).to_be_visible()
    assert spectator.evaluate("window.stillTheSamePage") is True
    # The winner's path: hovering them in the final lights both their cards and the line.
    final.locator(".match__slot--entrant").hover()
    expect(card).to_have_class(re.compile(r"\bis-path\b"))
    expect(spectator.locator(".bracket-lines path.is-path")).to_have_count(1)
