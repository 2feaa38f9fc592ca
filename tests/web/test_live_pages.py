"""Spectator pages: the live matches list with its filters, the tournament overview, and the
fragments pushed for them — equal to the regions of a fresh page, for every spectator."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Status, Visibility
from app.realtime import fragments
from app.realtime.feed import Event
from app.services import brackets, live_matches, matches
from app.services import match_control as control
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import check_in_both, play, row
from tests.integration.test_registrations import do

STREAM = "https://stream.example.test/main"


@pytest.fixture
def cup(make_tournament):
    return make_tournament("live-list-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)


@pytest.fixture
def bracket(cup, make_published):
    """A finalized 8-entrant single elimination: four quarter-finals to play."""
    return make_published(cup, 8)


@pytest.fixture
def under_way(bracket, organizer):
    """Quarter-final 1 played, 2 live and on stream, 3 and 4 not started."""
    play(row(bracket, 0))
    second = row(bracket, 1)
    do(lambda: control.set_details(organizer, second, second.version, coordinator_id=None,
                                   lobby={}, stream_url=STREAM))
    check_in_both(second)
    do(lambda: control.start(matches.registrations_of(second)[0].user, second, second.version))
    return bracket


def rows_of(html: str) -> dict[int, bool]:
    """Match id → shown, for every row of the live list region."""
    region = region_of(html, "live-matches")
    return {int(m.group(1)): m.group(2) is None
            for m in re.finditer(r'<li id="liverow-(\d+)"[^>]*?( hidden)?>', region)}


def region_of(html: str, name: str) -> str:
    """The outer HTML of the page's `<section id="tournament-N-<name>">`."""
    start = re.search(rf'<section id="tournament-\d+-{name}"', html).start()
    depth, at = 0, start
    for tag in re.finditer(r"<(/?)section\b", html[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            at = start + tag.end()
            break
    return html[start:html.index(">", at) + 1]


def same(fragment: str) -> str:
    """A region without its out-of-band marker, whitespace folded."""
    return " ".join(fragment.replace('hx-swap-oob="outerHTML"', "").split()).replace(" >", ">")


def pushed(app, cup, type_="match_completed", **payload) -> dict[str, str]:
    """The event's fragments by kind of room of `cup`: tournament, matches, bracket."""
    with fragments.render_context(app):
        rendered = fragments.render(Event(1, type_, cup.id, payload))
    return {room.split(":")[0]: html for room, html in rendered.items()
            if room.endswith(f":{cup.id}") and not room.startswith("match:")}


def test_the_list_shows_what_is_live_finished_and_about_to_start(client, cup, under_way):
    html = client.get(f"/t/{cup.slug}/matches").get_data(as_text=True)
    first, second, third = (row(under_way, n) for n in range(3))
    shown = rows_of(html)
    html = region_of(html, "live-matches")
    assert shown == {first.id: True, second.id: True, third.id: True,
                     row(under_way, 3).id: True}
    live = html.index("Live now")
    assert live < html.index(f'id="liverow-{second.id}"') < html.index("About to start")
    assert html.index("Recently finished") < html.index(f'id="liverow-{first.id}"')
    assert html.index("About to start") < html.index(f'id="liverow-{third.id}"')
    assert html.count("On stream") == 1 and STREAM in html
    assert row(under_way, 4).id not in shown  # the semi-final waits for its entrants


def test_filters_by_state_round_and_entrant_hide_the_rest(client, cup, under_way):
    first, second = row(under_way, 0), row(under_way, 1)
    finished = rows_of(client.get(f"/t/{cup.slug}/matches?state=finished").get_data(as_text=True))
    assert [m for m, shown in finished.items() if shown] == [first.id]
    name = matches.registrations_of(second)[1].name
    found = rows_of(client.get(f"/t/{cup.slug}/matches",
                               query_string={"q": name.upper()}).get_data(as_text=True))
    assert [m for m, shown in found.items() if shown] == [second.id]
    semis = client.get(f"/t/{cup.slug}/matches?round=1-winners-2").get_data(as_text=True)
    assert not any(rows_of(semis).values()) and "No match to show with these filters" in semis
    assert 'value="1-winners-2" selected' in semis


@pytest.mark.parametrize("query, said", [
    ("state=everything", "There is no state “everything”"),
    ("round=9-losers-77", "That round is not in this tournament"),
    ("round=%00%ff&state=%3Cscript%3E", "showing every"),
    ("q=" + "x" * 500, "cut to its first 60 characters"),
])
def test_bad_filter_input_is_said_and_ignored(client, cup, under_way, query, said):
    response = client.get(f"/t/{cup.slug}/matches?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and said in html
    if "q=" not in query:
        assert all(rows_of(html).values())  # the bad filter was dropped: everything shows
    assert "<script>" not in html.split("<main", 1)[1]


def test_the_pushed_list_and_overview_equal_a_fresh_page(app, client, cup, under_way):
    rooms = pushed(app, cup, match_id=row(under_way, 0).id)
    listed = rooms["matches"]
    assert 'hx-swap-oob="outerHTML"' in region_of(listed, "live-matches")
    page = client.get(f"/t/{cup.slug}/matches").get_data(as_text=True)
    assert same(region_of(listed, "live-matches")) == same(region_of(page, "live-matches"))
    overview = client.get(f"/t/{cup.slug}").get_data(as_text=True)
    assert same(region_of(rooms["tournament"], "overview")) == same(region_of(overview, "overview"))


def test_one_event_gives_each_page_its_own_regions_only(app, cup, under_way):
    """Several renderers serve `match_completed`; each page's room gets just what it shows."""
    first = row(under_way, 0)
    rooms = pushed(app, cup, match_id=first.id)
    overview = f'id="tournament-{cup.id}-overview"'
    listed = f'id="tournament-{cup.id}-live-matches"'
    assert f'id="match-{first.bracket_id}-{first.number}"' in rooms["bracket"]
    assert overview not in rooms["bracket"] and listed not in rooms["bracket"]
    assert overview in rooms["tournament"] and listed not in rooms["tournament"]
    assert listed in rooms["matches"] and overview not in rooms["matches"]
    follow = Event(2, "match_updated", cup.id, {"match_id": row(under_way, 4).id, "follow": True})
    with fragments.render_context(app):
        rendered = fragments.render(follow)
    assert f"tournament:{cup.id}" not in rendered and f"matches:{cup.id}" not in rendered


def test_the_overview_counts_matches_and_names_the_current_round(client, cup, under_way):
    html = region_of(client.get(f"/t/{cup.slug}").get_data(as_text=True), "overview")
    assert re.search(r"<dt>Entrants</dt><dd>8</dd>", html)
    assert re.search(r"<dt>Matches played</dt><dd>1 / 7</dd>", html)
    assert re.search(r"<dt>Live now</dt><dd>1</dd>", html)
    assert "Quarter-finals" in html and "Next matches" in html
    assert f'href="/t/{cup.slug}/matches"' in html


def test_the_overview_names_the_champion_when_the_tournament_is_over(client, cup, bracket):
    for number in range(7):
        play(row(bracket, number))
    db.session.refresh(cup)
    assert cup.status == Status.COMPLETED
    champion = matches.registrations_of(row(bracket, 6))[0].name
    html = region_of(client.get(f"/t/{cup.slug}").get_data(as_text=True), "overview")
    assert f"Champion: <strong>{champion}</strong>" in html
    assert re.search(r"<dd>7 / 7</dd>", html) and "Next matches" not in html


def test_before_the_bracket_is_published_the_list_says_so_and_the_overview_waits(
        app, client, cup, make_field, organizer):
    make_field(cup, 4)
    listed = client.get(f"/t/{cup.slug}/matches").get_data(as_text=True)
    assert "No bracket is published" in listed
    overview = region_of(client.get(f"/t/{cup.slug}").get_data(as_text=True), "overview")
    assert " hidden" in overview.split(">", 1)[0] and "Matches played" not in overview
    made = generate(organizer, cup)
    draft = pushed(app, cup, "bracket_generated")["tournament"]
    assert "Matches played" not in region_of(draft, "overview")
    do(lambda: brackets.finalize(organizer, cup, made.version))
    published = region_of(pushed(app, cup, "bracket_generated")["tournament"], "overview")
    assert "<dd>0 / 3</dd>" in published and " hidden" not in published.split(">", 1)[0]


def test_a_private_tournament_list_is_hidden_from_strangers(client, make_tournament):
    hidden = make_tournament("hush-cup", status=Status.LIVE, visibility=Visibility.PRIVATE)
    assert client.get(f"/t/{hidden.slug}/matches").status_code == 404


def statements_into(statements: list[str]):
    def listen(*args) -> None:
        statements.append(args[2])
    return listen


def test_the_list_is_read_in_the_same_few_statements_whatever_its_size(
        app, make_tournament, make_field, organizer):
    counts = []
    for n in (4, 32):
        cup = make_tournament(f"sized-{n}", status=Status.LIVE, capacity=64)
        make_field(cup, n)
        made = generate(organizer, cup)
        do(lambda c=cup, m=made: brackets.finalize(organizer, c, m.version))
        play(row(made, 0))
        statements: list[str] = []
        listen = statements_into(statements)
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            board = live_matches.board(cup)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert board.rows and board.counters.played == 1
        counts.append(len([s for s in statements if s.startswith("SELECT")
                           and "FROM tournaments" not in s]))  # not the expired cup
    assert counts[0] == counts[1] <= 6
