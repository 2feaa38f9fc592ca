"""End to end in a real browser: a 16-entrant double elimination is played from its first match
to its champion through the player forms alone (issue 5, "Done when").

Every playable match: both players open its page and check in, one reports the score game by
game, and the opponent — whose page stayed open — sees the report arrive without a reload and
confirms it. One match is disputed: the opponent rejects the report with a reason and the
organizer settles it from the staff control page. Anonymous spectators watch live: one on the
bracket page from start to end, one on the disputed match, one on the tournament page where
the champion appears.

The matches that can be played at the same moment are played as a wave, each step for all of
them before the next, as a real event runs (and faster: one page loads while the next acts).

Set E2E_SHOTS_DIR (e.g. /tmp/e2e-shots) to save full-page screenshots of the main steps.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    Format,
    GrandFinal,
    Match,
    MatchState,
    Status,
    Tournament,
    User,
    Visibility,
)
from app.services import brackets, matches, results
from app.services import match_control as control
from app.services import match_progression as progression
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.integration.test_bracket_generation import generate
from tests.integration.test_registrations import do

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE_SEEDS = {9, 16}  # these two players use a phone; the others a desktop
# The higher seed wins, except in these pairings: 2 beats 1 in the winners final and again in
# the grand final, so it is champion undefeated and the grand-final reset is not needed.
UPSETS = {frozenset({8, 9}), frozenset({4, 5}), frozenset({1, 2})}
CHAMPION_SEED = 2
MATCHES_PLAYED = 15 + 14 + 1  # winners bracket, losers bracket, grand final (no reset)
DISPUTED_ROUND = ("winners", 2)  # its first match is the disputed one
REASON = "We won that game 13-11; the score is wrong."
# The elements reaching furthest right ("tag.class right-edge"): what makes a page too wide.
WIDEST = """() => [...document.body.querySelectorAll("*")]
    .map(el => [Math.round(el.getBoundingClientRect().right), el])
    .filter(([right]) => right > document.documentElement.clientWidth)
    .sort((a, b) => b[0] - a[0]).slice(0, 3)
    .map(([right, el]) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} ${right}`)"""


@dataclass(frozen=True)
class Pairing:
    """A playable match as the test needs it (plain values: no session is held open)."""

    id: int
    number: int
    side: str
    round: int
    best_of: int
    seeds: tuple[int, int]

    @property
    def winner_side(self) -> int:
        a, b = self.seeds
        return 0 if (a < b) != (frozenset(self.seeds) in UPSETS) else 1

    @property
    def winner_seed(self) -> int:
        return self.seeds[self.winner_side]

    @property
    def reporter_side(self) -> int:
        """Most reports come from the winner, every third from the loser."""
        return self.winner_side if self.number % 3 else 1 - self.winner_side

    def games(self) -> list[tuple[int, int]]:
        """The series, side A's score first; a best of 3 goes the distance (won, lost, won)."""
        won, lost = (13, self.number % 12), (self.number % 12, 13)
        series = [won] if self.best_of == 1 else [won, lost] + [won] * (self.best_of // 2)
        return series if self.winner_side == 0 else [(b, a) for a, b in series]


@dataclass
class Table:
    """One match of a wave: its pairing, the side that reports and the side that answers
    (confirms, or rejects the disputed report), and their pages once they opened the match."""

    pairing: Pairing
    url: str
    reporter_seed: int
    answerer_seed: int
    disputed: bool = False
    reporter: Page | None = None
    answerer: Page | None = None

    @classmethod
    def of(cls, pairing: Pairing, slug: str, *, disputed: bool = False) -> Table:
        """In the disputed match the winner reports."""
        reporter = pairing.winner_side if disputed else pairing.reporter_side
        return cls(pairing, f"/t/{slug}/m/{pairing.id}", pairing.seeds[reporter],
                   pairing.seeds[1 - reporter], disputed)


class Players:
    """Each player's own browser. The first time a player opens a match page they are not
    logged in: they follow its "Log in" link and the login form brings them back."""

    def __init__(self, make_page, usernames: dict[int, str]) -> None:
        self.make_page, self.usernames, self.pages = make_page, usernames, {}

    def open(self, seed: int, url: str) -> Page:
        page = self.pages.get(seed)
        if page is not None:
            open_page(page, url)
            return page
        page = self.pages[seed] = self.make_page(**(PHONE if seed in PHONE_SEEDS else DESKTOP))
        open_page(page, url)
        submit(page.locator(".match-seat").get_by_role("link", name="Log in"))
        page.get_by_label("Username").fill(self.usernames[seed])
        page.get_by_label("Password").fill(PASSWORD)
        submit(page.get_by_role("button", name="Log in"))
        expect(page).to_have_url(re.compile(re.escape(url) + "$"))
        return page


def step(page: Page, name: str, *, fits: bool = True) -> None:
    """The page body fits its viewport; with E2E_SHOTS_DIR set, save what it looks like."""
    page.wait_for_load_state()
    width = page.viewport_size["width"]
    if fits and page.evaluate("document.documentElement.scrollWidth") > width:
        pytest.fail(f"{name}: wider than {width} px: {page.evaluate(WIDEST)}")
    if shots := os.environ.get("E2E_SHOTS_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def open_page(page: Page, url: str) -> None:
    """Navigate without waiting for scripts and styles: the next locator waits for its part."""
    page.goto(url, wait_until="commit")


def submit(button: Locator) -> None:
    """Press a form's button and wait until the page it leads to (a 303 back) starts."""
    with button.page.expect_navigation(wait_until="commit"):
        button.click()


def arrives(locator: Locator) -> Locator:
    """Wait for an element (a page being parsed, a live update) with Playwright's quick
    re-checks rather than `expect`'s slower back-off; return it for the real assertions."""
    locator.wait_for()
    return locator


def alert(page: Page, text: str) -> Locator:
    return page.get_by_role("alert").filter(has_text=text)


def next_wave(bracket_id: int) -> list[Pairing]:
    """Every match whose two entrants are known and that is not played yet, by number."""
    db.session.rollback()  # see what the server committed; hold no snapshot while it writes
    rows = db.session.scalars(select(Match).where(
        Match.bracket_id == bracket_id,
        Match.state.in_([MatchState.SCHEDULED, MatchState.CHECK_IN])).order_by(Match.number))
    wave = [Pairing(r.id, r.number, r.side, r.round, r.best_of, (r.seed_a, r.seed_b))
            for r in rows]
    db.session.rollback()
    return wave


@pytest.fixture
def cup(make_tournament, make_field, organizer) -> Tournament:
    """A live, public 16-entrant double elimination, best of 1 (grand final best of 3)."""
    tournament = make_tournament(
        "match-flow-cup", status=Status.LIVE, visibility=Visibility.PUBLIC, capacity=16,
        format=Format.DOUBLE_ELIMINATION, grand_final=GrandFinal.RESET, best_of=1,
        best_of_finals=3)
    make_field(tournament, 16)
    bracket = generate(organizer, tournament)
    do(lambda: brackets.finalize(organizer, tournament, bracket.version))
    return tournament


def test_a_double_elimination_is_played_to_its_champion_through_the_player_forms(
        make_page, cup, organizer):
    slug, tournament_id, staff_name = cup.slug, cup.id, organizer.username
    bracket = brackets.current(cup)
    bracket_id = bracket.id
    seeds = {e.seed: (e.registration.user.username, e.registration.name) for e in bracket.seeds}
    names = {seed: name for seed, (_username, name) in seeds.items()}
    champion = names[CHAMPION_SEED]
    db.session.rollback()

    spectator = make_page(**DESKTOP)  # anonymous, on the bracket page from start to end
    spectator.goto(f"/t/{slug}/bracket")
    expect(spectator.locator(f"#match-{bracket_id}-0")).to_contain_text(names[1])
    staff = make_page(**DESKTOP)
    log_in(staff, staff_name)
    players = Players(make_page, {seed: username for seed, (username, _) in seeds.items()})

    played: list[Pairing] = []
    watcher: Page | None = None
    while wave := next_wave(bracket_id):
        assert len(played) + len(wave) <= MATCHES_PLAYED, f"too many matches: {wave}"
        disputed = next((p for p in wave if (p.side, p.round) == DISPUTED_ROUND), None)
        tables = [Table.of(p, slug, disputed=p == disputed) for p in wave]
        if any(p.side == "grand_final" for p in wave):
            watcher = make_page(**DESKTOP)  # anonymous, on the tournament page
            watcher.goto(f"/t/{slug}")
            expect(watcher.locator(f"#tournament-{tournament_id}-status")).to_contain_text("Live")

        # The answerers check in first and keep their pages open: the rest arrives by itself.
        for table in tables:
            table.answerer = players.open(table.answerer_seed, table.url)
            submit(table.answerer.get_by_role("button", name="Check in", exact=True))
            arrives(table.answerer.get_by_text("You are checked in; waiting for your opponent."))
        for table in tables:
            table.reporter = players.open(table.reporter_seed, table.url)
            report(table)
        for table in tables:
            # No reload: the answerer's page fetched its own part again when the report came.
            confirm = arrives(table.answerer.get_by_role("button", name="Confirm the result"))
            if not played:
                step(table.answerer, "match-1-answer-desktop")
            if table.disputed:
                settle_the_dispute(table, names, slug, staff, make_page)
            else:
                submit(confirm)
                expect(arrives(alert(table.answerer, "Result confirmed."))).to_be_visible()
        for table in tables:  # the spectator's bracket followed every result
            card = spectator.locator(f"#match-{bracket_id}-{table.pairing.number}")
            expect(arrives(card.locator(".match__slot--won"))).to_contain_text(
                names[table.pairing.winner_seed])
            expect(card).to_have_class(re.compile(r"\bmatch--completed\b"))
        played += wave

    assert len(played) == MATCHES_PLAYED and watcher is not None
    # The open pages show the end without a reload.
    expect(watcher.locator(".champion")).to_contain_text(f"Champion: {champion}")
    expect(watcher.locator(f"#tournament-{tournament_id}-status")).to_contain_text("Completed")
    expect(spectator.locator(".bracket-standings tbody tr").first).to_contain_text(champion)
    # The grand-final reset was not needed: the bracket no longer draws it.
    expect(spectator.get_by_text("Grand final reset (if needed)")).to_have_count(0)
    spectator.reload()
    expect(spectator.locator(".bracket-standings tbody tr").first.locator("td")).to_have_text(
        ["1", champion])
    # Not checked for width: once results exist, the "(winner)" .visually-hidden spans
    # (position: absolute, with no positioned ancestor inside the scrolling .bracket-rounds)
    # escape that scroll box and widen the whole page (to 1310 px here, 1216 px on a phone).
    step(spectator, "bracket-final-desktop", fits=False)
    watcher.reload()
    expect(watcher.locator(".champion")).to_contain_text(f"Champion: {champion}")
    step(watcher, "tournament-champion-desktop")

    db.session.rollback()
    tournament = db.session.get(Tournament, tournament_id)
    assert tournament.status == Status.COMPLETED
    assert progression.champion(tournament).name == champion
    rows = list(db.session.scalars(select(Match).where(Match.bracket_id == bracket_id)))
    unplayed = [r for r in rows if r.state != MatchState.COMPLETED]
    assert [(r.side, r.round, r.state, r.outcome) for r in unplayed] == [
        ("grand_final", 2, MatchState.CANCELLED, None)]
    assert sorted(r.id for r in rows if r not in unplayed) == sorted(p.id for p in played)
    assert all(r.winner_seed == p.winner_seed for p in played for r in rows if r.id == p.id)

    def audited(action: str) -> int:
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == action))

    assert audited("match.settled") == 1
    assert audited("match.rejected") == 1
    assert audited("match.confirmed") == MATCHES_PLAYED - 1
    assert audited("tournament.completed") == 1


def report(table: Table) -> None:
    """The second side checks in (both are here: READY) and reports."""
    page = table.reporter
    submit(page.get_by_role("button", name="Check in", exact=True))
    arrives(alert(page, "You are checked in."))
    for number, (a, b) in enumerate(table.pairing.games(), start=1):
        page.locator(f'input[name="game-{number}-a"]').fill(str(a))
        page.locator(f'input[name="game-{number}-b"]').fill(str(b))
    submit(page.get_by_role("button", name="Report the score"))
    arrives(alert(page, "Score reported"))
    expect(page.locator(".match-seat")).to_contain_text("Waiting for your opponent")


def settle_the_dispute(table: Table, names: dict[int, str], slug: str, staff: Page,
                       make_page) -> None:
    """The answerer rejects the winner's report; the organizer settles with that report."""
    pairing, answerer = table.pairing, table.answerer
    watcher = make_page(**PHONE)  # an anonymous spectator of this match
    watcher.goto(table.url)
    panel = watcher.locator(".match-panel")
    expect(panel.locator(".badge").first).to_have_text("Result reported")

    answerer.get_by_text("It is wrong: reject it…").click()
    answerer.get_by_label("Reason").fill(REASON)
    step(answerer, "match-2-answer-phone")
    submit(answerer.get_by_role("button", name="Reject"))
    expect(alert(answerer, "Report rejected; the staff will settle the result.")).to_be_visible()
    expect(panel.locator(".badge").first).to_have_text("Disputed")  # live, no reload
    expect(panel).to_contain_text(REASON)
    expect(table.reporter.locator(".match-seat")).to_contain_text("The two sides disagree")
    step(answerer, "match-3-disputed-phone")

    winner = names[pairing.winner_seed]
    score = "1–0" if pairing.winner_side == 0 else "0–1"
    staff.goto(table.url)
    submit(staff.get_by_role("link", name="Run this match (staff)"))
    expect(staff).to_have_url(re.compile(rf"/manage/t/{slug}/matches/{pairing.id}$"))
    settle = staff.locator("form", has=staff.get_by_role("heading", name="Settle the dispute"))
    expect(settle).to_be_visible()
    step(staff, "control-1-disputed-desktop")
    staff.set_viewport_size({"width": 375, "height": 812})
    step(staff, "control-2-disputed-phone")
    staff.set_viewport_size(DESKTOP["viewport"])
    settle.get_by_label("Choose a report").select_option(label=f"{winner}: {score}")
    submit(settle.get_by_role("button", name="Settle"))
    expect(alert(staff, "Dispute settled; the winner advances.")).to_be_visible()

    expect(panel.locator(".badge").first).to_have_text("Completed")  # live, no reload
    expect(panel.locator(".versus__side--won")).to_contain_text(winner)
    expect(panel).to_contain_text("settled the dispute")
    step(watcher, "match-4-settled-phone")


def test_a_seat_fetched_while_the_match_moved_on_fetches_itself_again(make_page, app, cup):
    """The answerer's page asks for its own part when the opponent checks in; the report
    lands while that request is in flight, so the answer shows the match as it was (READY).
    The page must ask again, or it would never show the confirm button."""
    bracket = brackets.current(cup)
    match = db.session.scalar(select(Match).where(Match.bracket_id == bracket.id,
                                                  Match.number == 0))
    match_id, url = match.id, f"/t/{cup.slug}/m/{match.id}"
    reporter, answerer = (matches.registrations_of(match)[side].user for side in (0, 1))
    reporter_id, answerer_name = reporter.id, answerer.username
    do(lambda: control.check_in(answerer, match, match.version))
    db.session.rollback()
    page = make_page(**DESKTOP)
    log_in(page, answerer_name)
    page.goto(url)
    expect(page.get_by_text("You are checked in; waiting for your opponent.")).to_be_visible()

    def report_while_in_flight(route: Route) -> None:
        answer = route.fetch()  # rendered now, before the report
        if not reported:
            with app.app_context():  # Playwright runs this handler outside the test's context
                played = db.session.get(Match, match_id)
                do(lambda: results.report(db.session.get(User, reporter_id), played,
                                          [(13, 2)], played.version))
            reported.append(True)
            page.wait_for_timeout(1000)  # the report's message arrives meanwhile
        route.fulfill(response=answer)

    reported: list[bool] = []
    page.route("**/seat", report_while_in_flight)
    do(lambda: control.check_in(reporter, match, match.version))  # READY: the seat refetches
    db.session.rollback()
    expect(page.locator(".match-panel .badge").first).to_have_text("Result reported")
    expect(page.get_by_role("button", name="Confirm the result")).to_be_visible()
    assert reported
