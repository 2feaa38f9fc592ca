"""Bracket pages: preview, generate, regenerate, finalize, manual seeds, ratings, the public page.

The drawing's view model (app/web/brackets/view.py) is tested on engine data alone at the end.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from flask import render_template
from sqlalchemy import func, select, update

from app.brackets import build
from app.brackets.play import Play
from app.extensions import db
from app.models import (
    AuditLog,
    Bracket,
    Format,
    GrandFinal,
    Match,
    MatchState,
    Rating,
    RegistrationStatus,
    SeedingDraft,
    StaffMember,
    StaffRole,
    Status,
    Visibility,
)
from app.realtime import fragments
from app.realtime.feed import Event
from app.services import brackets, matches
from app.web.brackets import layout, view
from tests.conftest import login, save
from tests.integration.test_bracket_generation import generate
from tests.integration.test_matches import check_in_both, play, row
from tests.integration.test_registrations import do

S = RegistrationStatus


@pytest.fixture
def cup(make_tournament):
    return make_tournament("bracket-cup", status=Status.CHECK_IN, capacity=64)


@pytest.fixture
def double_cup(make_tournament):
    return make_tournament("double-cup", status=Status.CHECK_IN, capacity=64,
                           format=Format.DOUBLE_ELIMINATION, grand_final=GrandFinal.RESET)


@pytest.fixture
def coordinator(make_user, cup):
    user = make_user("coord", display_name="Cora Coordinator")
    save(StaffMember(tournament_id=cup.id, user_id=user.id, role=StaffRole.COORDINATOR))
    return user


def _url(tournament, suffix: str = "") -> str:
    return f"/manage/t/{tournament.slug}/bracket{suffix}"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _options(**values) -> dict[str, str]:
    return {"seeding": "registration", "separation": "none", **values}


def _generate(client, tournament, version: int = 0, **values):
    return client.post(_url(tournament, "/generate"),
                       data={**_options(**values), "version": str(version)})


def _brackets() -> int:
    return db.session.scalar(select(func.count()).select_from(Bracket))


def _seed_names(bracket: Bracket) -> list[str]:
    db.session.refresh(bracket)
    return [e.registration.name for e in bracket.seeds]


def _preview_seeds(page: str) -> list[str]:
    """Entrant names in the preview's seed table, in seed order."""
    preview = page.split('id="preview"', 1)[1]
    seeds = preview.split('<ol class="seed-grid">', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<span class="seed-grid__name">([^<]+)</span>', seeds)


# --- preview ---------------------------------------------------------------------------------


def test_preview_lists_who_is_left_out_with_the_reason_and_draws_the_bracket(
        client, organizer, cup, make_field):
    make_field(cup, 6)
    make_field(cup, 1, checked_in=False, prefix="late")
    make_field(cup, 1, status=S.PENDING_PAYMENT, checked_in=False, prefix="unpaid")
    make_field(cup, 1, status=S.WAITLISTED, checked_in=False, prefix="wait")
    make_field(cup, 1, status=S.WITHDRAWN, checked_in=False, prefix="gone")
    login(client, organizer)

    response = client.get(_url(cup), query_string={"preview": "1", **_options()})

    assert response.status_code == 200
    page = _text(response)
    assert "6 entrants</strong> will be seeded" in page
    for name, reason in (("Entrant 7", "did not check in"), ("Entrant 8", "entry fee not paid"),
                         ("Entrant 9", "on the waitlist"), ("Entrant 10", "withdrew")):
        assert f"<strong>{name}</strong> — {reason}" in page
    assert _preview_seeds(page) == [f"Entrant {n}" for n in range(1, 7)]
    # Six entrants in a bracket of eight: quarter-finals with two byes, semi-finals, final.
    for title in ("Quarter-finals", "Semi-finals", "Final", "M1", "Winner of M2", "Bye"):
        assert title in page
    assert 'name="version" type="hidden" value="0"' in page
    assert _brackets() == 0  # a preview saves nothing


def test_preview_with_too_few_entrants_explains_why(client, organizer, cup, make_field):
    make_field(cup, 1)
    login(client, organizer)
    response = client.get(_url(cup), query_string={"preview": "1", **_options()})
    assert response.status_code == 400
    assert "at least 2 checked-in, confirmed entrants; 1 is eligible" in _text(response)
    assert 'id="preview"' not in _text(response)


def test_bad_options_are_field_errors(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    response = client.get(_url(cup), query_string={"preview": "1", **_options(seeding="best")})
    assert response.status_code == 400
    assert "Not a valid choice" in _text(response)


# --- generate, regenerate ----------------------------------------------------------------------


def test_generate_saves_the_bracket_audits_it_and_redirects(client, organizer, cup, make_field):
    make_field(cup, 5)
    login(client, organizer)

    response = _generate(client, cup)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(_url(cup))
    bracket = brackets.current(cup)
    assert bracket.entrants == 5 and not bracket.finalized
    assert _seed_names(bracket) == [f"Entrant {n}" for n in range(1, 6)]
    [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "bracket.generated"))
    assert row.actor_id == organizer.id
    page = _text(client.get(_url(cup)))
    assert "Bracket generated with 5 entrants" in page
    assert 'class="badge badge--draft">Draft' in page
    assert f'id="match-{bracket.id}-0"' in page
    assert "Finalize and publish" in page


def test_the_same_generate_sent_twice_makes_one_bracket(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    assert _generate(client, cup).status_code == 303

    again = _generate(client, cup)

    assert again.status_code == 409
    page = _text(again)
    assert "The bracket changed since you opened this page" in page
    assert "Current bracket" in page
    assert _brackets() == 1 and brackets.current(cup).version == 1


def test_regenerating_asks_for_confirmation_then_replaces_the_bracket(
        client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    unconfirmed = _generate(client, cup, version=1, seeding="random")
    assert unconfirmed.status_code == 400
    assert "Tick this box to replace the current bracket." in _text(unconfirmed)
    assert brackets.current(cup).version == 1

    response = _generate(client, cup, version=1, seeding="random", replace="y")
    assert response.status_code == 303
    bracket = brackets.current(cup)
    assert (bracket.version, bracket.seeding_method.value) == (2, "random")
    assert _brackets() == 1
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("bracket.%")).order_by(AuditLog.id)).all()
    assert actions == ["bracket.generated", "bracket.regenerated"]


def test_regenerating_is_refused_once_a_match_has_a_result(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    bracket = brackets.current(cup)
    db.session.execute(update(Match).where(Match.bracket_id == bracket.id, Match.number == 0)
                       .values(outcome="played", status="completed", winner_seed=1,
                               loser_seed=4))
    db.session.commit()

    response = _generate(client, cup, version=1, replace="y")

    assert response.status_code == 409
    page = _text(response)
    assert "Matches of this bracket have started" in page
    assert "can no longer be regenerated" in page
    assert brackets.current(cup).version == 1


def test_random_preview_then_generate_makes_the_previewed_draw(client, organizer, cup,
                                                               make_field):
    make_field(cup, 8)
    login(client, organizer)

    preview = _text(client.get(_url(cup), query_string={"preview": "1",
                                                        **_options(seeding="random")}))

    rng_seed = int(re.search(r'name="rng_seed" value="(\d+)"', preview)[1])
    assert f"RNG seed <code>{rng_seed}</code>" in preview
    redraw = re.search(r'href="([^"]+)#preview">Redraw', preview)[1]
    assert "seeding=random" in redraw and "rng_seed" not in redraw
    order = _preview_seeds(preview)
    assert sorted(order) == sorted(f"Entrant {n}" for n in range(1, 9))

    response = _generate(client, cup, seeding="random", rng_seed=str(rng_seed))

    assert response.status_code == 303
    bracket = brackets.current(cup)
    assert bracket.rng_seed == rng_seed
    assert _seed_names(bracket) == order


def test_double_elimination_preview_draws_every_side(client, organizer, double_cup,
                                                     make_field):
    make_field(double_cup, 16)
    login(client, organizer)
    page = _text(client.get(_url(double_cup), query_string={"preview": "1", **_options()}))
    for title in ("Winners bracket", "Losers bracket", "Winners round 4", "Losers round 6",
                  "Grand final reset (if needed)", "Loser of M1"):
        assert title in page
    assert "Grand final</h3>" in page or "Grand final</h4>" in page


# --- finalize and the public page ---------------------------------------------------------------


def test_finalizing_publishes_the_bracket(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    public_url = f"/t/{cup.slug}/bracket"

    draft = _text(client.get(public_url))
    assert "Draft — not public yet" in draft and "Entrant 1" in draft
    assert "Bracket (draft)</a>" in _text(client.get(f"/t/{cup.slug}"))  # staff see the draft
    outsider = client.application.test_client()
    hidden = outsider.get(public_url)
    assert hidden.status_code == 200
    assert "The bracket is not published yet" in _text(hidden)
    assert "Entrant 1" not in _text(hidden)
    assert f'href="{public_url}"' not in _text(outsider.get(f"/t/{cup.slug}"))

    response = client.post(_url(cup, "/finalize"), data={"version": "1"})

    assert response.status_code == 303
    assert brackets.current(cup).finalized
    shown = _text(outsider.get(public_url))
    assert "Entrant 1" in shown and "Draft — not public yet" not in shown
    assert 'id="bracket"' in shown and "hx-ws:connect" in shown
    assert f'href="{public_url}"' in _text(outsider.get(f"/t/{cup.slug}"))
    assert "bracket.finalized" in db.session.scalars(select(AuditLog.action)).all()


def test_finalizing_from_a_stale_page_is_refused(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    _generate(client, cup, version=1, replace="y")

    response = client.post(_url(cup, "/finalize"), data={"version": "1"})

    assert response.status_code == 409
    assert "changed since you opened this page" in _text(response)
    assert not brackets.current(cup).finalized
    assert 'name="version" type="hidden" value="2"' in _text(response)


def test_a_private_tournament_bracket_is_hidden_from_outsiders(
        client, organizer, player, make_tournament, make_field):
    private = make_tournament("secret-cup", status=Status.CHECK_IN,
                              visibility=Visibility.PRIVATE)
    make_field(private, 4)
    login(client, organizer)
    _generate(client, private)
    client.post(_url(private, "/finalize"), data={"version": "1"})
    assert brackets.current(private).finalized

    assert client.application.test_client().get(f"/t/{private.slug}/bracket").status_code == 404
    login(client, player)
    assert client.get(f"/t/{private.slug}/bracket").status_code == 404


def test_the_live_fragment_is_pushed_for_a_finalized_bracket_only(
        app, client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    bracket = brackets.current(cup)
    event = Event(1, "bracket_generated", cup.id, {"bracket_id": bracket.id})
    with fragments.render_context(app):
        fragment = fragments.render(event)[f"bracket:{cup.id}"]
    # A draft never reaches the public sockets: open pages read "not published yet".
    assert "not published yet" in fragment and "Entrant 4" not in fragment

    client.post(_url(cup, "/finalize"), data={"version": "1"})

    with fragments.render_context(app):
        pushed = fragments.render(event)
    fragment = pushed[f"bracket:{cup.id}"]  # the bracket page's room
    assert 'id="bracket"' not in pushed[f"tournament:{cup.id}"]  # the tournament page has none
    assert '<section id="bracket"' in fragment and 'hx-swap-oob="outerHTML"' in fragment
    assert f'id="match-{bracket.id}-0"' in fragment and "Entrant 4" in fragment


# --- who may do what ------------------------------------------------------------------------------


def _posts(tournament) -> dict[str, tuple[str, dict]]:
    return {
        "generate": (_url(tournament, "/generate"), {**_options(), "version": "0"}),
        "finalize": (_url(tournament, "/finalize"), {"version": "1"}),
        "seeds": (_url(tournament, "/seeds"), {"version": "0"}),
        "ratings": (f"/manage/t/{tournament.slug}/ratings", {}),
        "import": (f"/manage/t/{tournament.slug}/ratings/import",
                   {"text": "Entrant 1,1500"}),
    }


@pytest.mark.parametrize("action", ["generate", "finalize", "seeds", "ratings", "import"])
@pytest.mark.parametrize("role", ["player", "other_organizer", "coordinator"])
def test_players_other_organizers_and_coordinators_cannot_change_anything(
        client, cup, make_field, player, other_organizer, coordinator, make_tournament,
        role, action):
    make_tournament("their-cup", owner=other_organizer)
    make_field(cup, 4)
    audits = db.session.scalar(select(func.count(AuditLog.id)))
    login(client, {"player": player, "other_organizer": other_organizer,
                   "coordinator": coordinator}[role])
    url, data = _posts(cup)[action]

    response = client.post(url, data=data)

    assert response.status_code == 403
    assert db.session.scalar(select(func.count(AuditLog.id))) == audits
    assert _brackets() == 0 and db.session.scalar(select(func.count(Rating.id))) == 0


def test_coordinators_see_the_pages_without_the_buttons(client, coordinator, cup, make_field):
    make_field(cup, 4)
    login(client, coordinator)
    page = client.get(_url(cup), query_string={"preview": "1", **_options()})
    assert page.status_code == 200
    assert "Only organizers can generate the bracket." in _text(page)
    assert "this bracket</button>" not in _text(page)
    for url in (_url(cup, "/seeds"), f"/manage/t/{cup.slug}/ratings"):
        response = client.get(url)
        assert response.status_code == 200 and "Entrant 1" in _text(response)
        assert "Save" not in _text(response).split("<main", 1)[1].split("</form>")[0]


def test_staff_pages_link_to_the_bracket_and_ratings(client, organizer, cup):
    login(client, organizer)
    for url in (f"/manage/t/{cup.slug}/", f"/manage/t/{cup.slug}/registrations"):
        page = _text(client.get(url))
        assert f'href="{_url(cup)}"' in page, url
        assert f'href="/manage/t/{cup.slug}/ratings"' in page, url


# --- manual seeds -----------------------------------------------------------------------------


def _seed_inputs(page: str) -> dict[int, str]:
    return {int(rid): value for rid, value in
            re.findall(r'name="seed-(\d+)"\s+value="([^"]*)"', page)}


def test_manual_seeds_round_trip_into_the_bracket(client, organizer, cup, make_field):
    field = make_field(cup, 5)
    login(client, organizer)
    page = _text(client.get(_url(cup, "/seeds")))
    assert _seed_inputs(page) == {r.id: str(n) for n, r in enumerate(field, start=1)}
    wanted = [field[3], field[0], field[4], field[1], field[2]]

    response = client.post(_url(cup, "/seeds"), data={
        "version": "0", **{f"seed-{r.id}": str(n) for n, r in enumerate(wanted, start=1)}})

    assert response.status_code == 303
    assert db.session.get(SeedingDraft, cup.id).registration_ids == [r.id for r in wanted]
    page = _text(client.get(_url(cup, "/seeds")))
    assert list(_seed_inputs(page)) == [r.id for r in wanted]
    assert "Seed order saved" in page
    assert _generate(client, cup, seeding="manual").status_code == 303
    assert _seed_names(brackets.current(cup)) == [r.name for r in wanted]


@pytest.mark.parametrize(("numbers", "message"), [
    (["1", "1", "2", "3"], "Seed 1 is given to Entrant 1 too."),
    (["1", "2", "3", "9"], "Seeds go from 1 to 4."),
    (["0", "2", "3", "4"], "Seeds go from 1 to 4."),
    (["1", "", "3", "4"], "Type a whole number."),
    (["1", "two", "3", "4"], "Type a whole number."),
])
def test_bad_seed_numbers_are_refused_and_nothing_is_saved(client, organizer, cup, make_field,
                                                          numbers, message):
    field = make_field(cup, 4)
    login(client, organizer)
    response = client.post(_url(cup, "/seeds"), data={
        "version": "0", **{f"seed-{r.id}": n for r, n in zip(field, numbers, strict=True)}})
    assert response.status_code == 400
    page = _text(response)
    assert message in page and "nothing was saved" in page
    assert list(_seed_inputs(page).values()) == numbers  # what was typed is shown again
    assert db.session.get(SeedingDraft, cup.id) is None


def test_seeds_saved_from_a_stale_page_show_the_current_order(client, organizer, cup,
                                                              make_field):
    field = make_field(cup, 3)
    login(client, organizer)
    reverse = {f"seed-{r.id}": str(3 - i) for i, r in enumerate(field)}
    assert client.post(_url(cup, "/seeds"), data={"version": "0", **reverse}).status_code == 303

    stale = client.post(_url(cup, "/seeds"), data={
        "version": "0", **{f"seed-{r.id}": str(i + 1) for i, r in enumerate(field)}})

    assert stale.status_code == 409
    page = _text(stale)
    assert "Someone saved another seed order" in page
    assert list(_seed_inputs(page)) == [r.id for r in reversed(field)]
    assert 'name="version" type="hidden" value="1"' in page


# --- ratings --------------------------------------------------------------------------------


def _ratings() -> dict[int, tuple[int | None, str]]:
    db.session.rollback()
    return {r.user_id: (r.rating, r.affiliation) for r in db.session.scalars(select(Rating))}


def test_ratings_are_saved_all_together_or_not_at_all(client, organizer, cup, make_field):
    a, b, c = make_field(cup, 3)
    late = make_field(cup, 1, checked_in=False, prefix="late")[0]
    login(client, organizer)
    page = _text(client.get(f"/manage/t/{cup.slug}/ratings"))
    assert page.index("Entrant 1") < page.index("Entrant 4")  # eligible first
    assert "Did not check in" in page
    url = f"/manage/t/{cup.slug}/ratings"

    bad = client.post(url, data={f"rating-{a.id}": "1500", f"rating-{b.id}": "lots",
                                 f"rating-{c.id}": "", f"rating-{late.id}": ""})
    assert bad.status_code == 400
    assert "“lots” is not a whole number." in _text(bad) and "nothing was saved" in _text(bad)
    assert _ratings() == {}

    good = client.post(url, data={f"rating-{a.id}": "1500", f"affiliation-{a.id}": " Berlin ",
                                  f"rating-{b.id}": "1700", f"rating-{c.id}": "",
                                  f"rating-{late.id}": "900"})
    assert good.status_code == 303
    assert _ratings() == {a.user_id: (1500, "Berlin"), b.user_id: (1700, ""),
                          late.user_id: (900, "")}

    ranked = _text(client.get(_url(cup), query_string={"preview": "1",
                                                       **_options(seeding="ranked")}))
    assert _preview_seeds(ranked) == ["Entrant 2", "Entrant 1", "Entrant 3"]
    assert 'title="Rating">1700</span>' in ranked and 'title="Rating">no rating' in ranked
    assert "No rating, seeded last in registration order: Entrant 3." in ranked


def test_a_csv_import_applies_every_line_or_none(client, organizer, cup, make_field):
    a, b = make_field(cup, 2)
    login(client, organizer)
    url = f"/manage/t/{cup.slug}/ratings/import"

    bad = client.post(url, data={"text": "name,rating\nEntrant 1,1200\nNobody,5\nEntrant 2,high"})
    assert bad.status_code == 400
    page = _text(bad)
    assert "Nothing was imported." in page
    assert "<li>Line 3: no entrant named “Nobody” in this tournament.</li>" in page
    assert "<li>Line 4: “high” is not a whole number.</li>" in page
    assert _ratings() == {}

    upload = io.BytesIO("\ufeffname,rating,club/region\nentrant 1,1200,Lyon\nEntrant 2,1300\n"
                        .encode())
    good = client.post(url, data={"file": (upload, "ratings.csv")},
                       content_type="multipart/form-data")
    assert good.status_code == 303
    assert _ratings() == {a.user_id: (1200, "Lyon"), b.user_id: (1300, "")}
    assert "Imported 2 ratings." in _text(client.get(f"/manage/t/{cup.slug}/ratings"))


def test_an_import_without_rows_or_with_a_binary_file_is_refused(client, organizer, cup,
                                                                make_field):
    make_field(cup, 2)
    login(client, organizer)
    url = f"/manage/t/{cup.slug}/ratings/import"
    assert "Choose a file or paste the rows." in _text(client.post(url, data={"text": " "}))
    binary = client.post(url, data={"file": (io.BytesIO(b"\xff\xd8\xff\x00"), "x.csv")},
                         content_type="multipart/form-data")
    assert binary.status_code == 400 and "not UTF-8 text" in _text(binary)
    assert _ratings() == {}


# --- the drawing's view model ---------------------------------------------------------------


def _drawing(fmt: str, n: int, **options) -> tuple[view.Drawing, Play]:
    structure = build(fmt, n, **options)
    play = Play(structure)
    return view.drawing(structure, play, {s: f"P{s}" for s in range(1, n + 1)}), play


def _titles(drawing: view.Drawing) -> list[list[str]]:
    return [[c.title for c in s.columns] for s in drawing.sections]


def test_single_elimination_rounds_count_back_from_the_final():
    drawing, _ = _drawing("single_elimination", 16, third_place=True)
    assert [s.title for s in drawing.sections] == ["Bracket", "Third-place match"]
    assert _titles(drawing) == [["Round 1", "Quarter-finals", "Semi-finals", "Final"],
                                ["Third place"]]
    two, _ = _drawing("single_elimination", 2)
    assert _titles(two) == [["Final"]]


def test_cards_show_entrants_byes_and_where_undecided_entrants_come_from():
    drawing, _ = _drawing("single_elimination", 3)
    first, final = drawing.sections[0].columns
    bye_match = first.cards[0]
    assert [s.label for s in bye_match.slots] == ["P1", "Bye"] and bye_match.bye
    assert bye_match.status_label == "Bye"
    assert [s.kind for s in final.cards[0].slots] == ["entrant", "pending"]
    assert final.cards[0].slots[1].label == "Winner of M2"
    assert final.cards[0].label == "M3" and final.cards[0].dom_id is None


def test_double_elimination_titles_and_an_unneeded_reset_is_not_drawn():
    drawing, play = _drawing("double_elimination", 4, grand_final="reset")
    assert [s.title for s in drawing.sections] == ["Winners bracket", "Losers bracket",
                                                   "Grand final"]
    assert _titles(drawing) == [["Winners round 1", "Winners round 2"],
                                ["Losers round 1", "Losers round 2"],
                                ["Grand final", "Grand final reset (if needed)"]]
    for match in play.matches[:-2]:  # the winners-bracket champion wins everything
        if play.states[match.id].status.value == "ready":
            play.record(match.id, min(play.states[match.id].slots))
    final = play.matches[-2].id
    play.record(final, play.states[final].slots[0], (3, 1))
    after = view.drawing(play.bracket, play, {s: f"P{s}" for s in range(1, 5)}, bracket_id=7)
    assert _titles(after)[-1] == ["Grand final"]
    card = after.sections[-1].columns[0].cards[0]
    assert card.dom_id == f"match-7-{final}"
    assert [(s.label, s.score, s.won) for s in card.slots] == [("P1", 3, True),
                                                                ("P2", 1, False)]
    assert [(s.place, s.names) for s in after.standings][:2] == [(1, ["P1"]), (2, ["P2"])]


def test_standings_wait_for_a_real_result():
    drawing, play = _drawing("single_elimination", 3)
    assert drawing.standings == []  # a bye decides nothing
    play.record(1, 2)
    after = view.drawing(play.bracket, play, {1: "A", 2: "B", 3: "C"})
    assert [(s.place, s.names) for s in after.standings] == [(1, ["A", "B"]), (3, ["C"])]


# --- round robin and Swiss --------------------------------------------------------------------


def test_round_robin_in_groups_previews_each_group_and_generates(client, organizer,
                                                                 make_tournament, make_field):
    league = make_tournament("league", status=Status.CHECK_IN, format=Format.ROUND_ROBIN)
    make_field(league, 8)
    login(client, organizer)
    options = _options(groups="2", cycles="1", advance="2")

    page = _text(client.get(_url(league), query_string={"preview": "1", **options}))

    assert "Group A" in page and "Group B" in page and "Round 3" in page
    assert page.count('<span class="badge">Group A</span>') == 4  # the seed list
    assert 'name="groups" value="2"' in page  # carried to the Generate form
    assert _generate(client, league, **options).status_code == 303
    bracket = brackets.current(league)
    assert bracket.settings["groups"] == 2
    assert sorted(e.group for e in bracket.seeds) == [1, 1, 1, 1, 2, 2, 2, 2]


def test_groups_are_checked_and_apply_to_round_robin_only(client, organizer, make_tournament,
                                                          cup, make_field):
    league = make_tournament("league", status=Status.CHECK_IN, format=Format.ROUND_ROBIN)
    make_field(league, 4)
    make_field(cup, 4)
    login(client, organizer)
    bad = client.get(_url(league), query_string={"preview": "1", **_options(groups="0")})
    assert bad.status_code == 400 and "Number must be between 1 and 64." in _text(bad)
    # An elimination bracket has no groups: the option is ignored, not an error.
    fine = client.get(_url(cup), query_string={"preview": "1", **_options(groups="4")})
    assert fine.status_code == 200 and "Group A" not in _text(fine)


def test_swiss_previews_the_first_round_and_says_how_many_follow(client, organizer,
                                                                 make_tournament, make_field):
    swiss = make_tournament("swiss-open", status=Status.CHECK_IN, format=Format.SWISS)
    make_field(swiss, 8)
    login(client, organizer)

    page = _text(client.get(_url(swiss), query_string={"preview": "1", **_options()}))

    assert "Round 1" in page and "Round 2" not in page
    assert "1 of 3 rounds paired" in page
    assert _generate(client, swiss, rounds="4").status_code == 303
    assert brackets.current(swiss).settings["rounds"] == 4


def test_a_finalize_without_its_version_says_to_reload(client, organizer, cup, make_field):
    make_field(cup, 4)
    login(client, organizer)
    _generate(client, cup)
    response = client.post(_url(cup, "/finalize"), data={})
    assert response.status_code == 400
    assert "Reload the page and try again." in _text(response)
    assert not brackets.current(cup).finalized


def test_a_refused_generation_says_why_once(client, organizer, cup, make_field):
    make_field(cup, 1)
    login(client, organizer)
    response = _generate(client, cup)
    assert response.status_code == 400
    assert _text(response).count("at least 2 checked-in, confirmed entrants") == 1
    assert _brackets() == 0


def test_finished_groups_offer_the_playoffs_and_the_public_page_shows_them(
        client, organizer, make_tournament, make_field):
    from tests.integration.test_bracket_generation import play_all

    groups = make_tournament("group-cup", status=Status.LIVE, format=Format.ROUND_ROBIN)
    make_field(groups, 8)
    login(client, organizer)
    assert _generate(client, groups, groups="2", advance="2", cycles="1").status_code == 303
    client.post(_url(groups, "/finalize"), data={"version": "1"})
    assert "Generate the playoffs" not in _text(client.get(_url(groups)))
    play_all(brackets.current(groups))

    page = _text(client.get(_url(groups)))
    assert "Generate the playoffs" in page
    assert client.post(_url(groups, "/playoffs"), data={"version": "1"}).status_code == 409
    done = client.post(_url(groups, "/playoffs"), data={"version": "2"})
    assert done.status_code == 303
    public = _text(client.application.test_client().get(f"/t/{groups.slug}/bracket"))
    assert "Playoffs" in public and "Semi-finals" in public
    assert "Generate the playoffs" not in _text(client.get(_url(groups)))


# --- the drawing: layout, connectors, labels, tables ------------------------------------------


def _cards(drawing: view.Drawing) -> dict[int, view.Card]:
    return {c.number: c for s in drawing.sections for col in s.columns for c in col.cards}


def _record_all(play: Play, side: str, round_: int, *, upsets: bool = False) -> None:
    """Every ready match of (side, round): the better seed wins (the worse one with upsets)."""
    for match in play.matches:
        state = play.states[match.id]
        if match.side == side and match.round == round_ and state.status.value == "ready":
            pick = max if upsets else min
            play.record(match.id, pick(state.slots))


def test_a_tree_centres_each_match_on_its_feeders_and_joins_them_with_lines():
    drawing, play = _drawing("single_elimination", 8)
    [tree] = drawing.sections
    first, semis, final = tree.columns
    pitch = layout.CARD_H + layout.ROW_GAP
    assert first.tops == [0, pitch, 2 * pitch, 3 * pitch]
    assert semis.tops == [pitch // 2, pitch // 2 + 2 * pitch]  # between their two feeders
    assert final.tops == [pitch // 2 + pitch]
    assert [c.x for c in tree.columns] == [layout.PAD + i * (layout.CARD_W + layout.COL_GAP)
                                           for i in range(3)]
    assert tree.width == 2 * layout.PAD + 3 * layout.CARD_W + 2 * layout.COL_GAP
    assert tree.height == layout.HEAD_H + 4 * pitch - layout.ROW_GAP + layout.PAD
    # One line from every match to the one its winner goes to: right edge to the slot.
    assert {(c.source, c.target) for c in tree.connectors} == {
        (m.id, m.winner_to.match) for m in play.matches if m.winner_to}
    line = next(c for c in tree.connectors if c.source == first.cards[1].number)
    x1 = layout.PAD + layout.CARD_W
    y1 = layout.HEAD_H + pitch + layout.CARD_H // 2
    y2 = layout.HEAD_H + semis.tops[0] + layout.SLOT_Y[1]  # M2's winner takes slot 2 of M5
    assert line.d == f"M{x1} {y1}H{x1 + layout.COL_GAP // 2}V{y2}H{semis.x}"


def test_double_elimination_lines_stay_inside_each_bracket_and_losers_rounds_line_up():
    drawing, play = _drawing("double_elimination", 16, grand_final="reset")
    winners, losers, grand = drawing.sections
    for section in (winners, losers):
        numbers = {c.number for col in section.columns for c in col.cards}
        assert section.connectors
        assert all(c.source in numbers and c.target in numbers for c in section.connectors)
    # Losers round 2 takes each winner of losers round 1 straight across (one feeder each).
    assert losers.columns[1].tops == losers.columns[0].tops
    assert len({top for top in losers.columns[2].tops}) == len(losers.columns[2].tops)
    # A preview shows the reset "if needed", joined to the grand final.
    assert [c.title for c in grand.columns] == ["Grand final", "Grand final reset (if needed)"]
    assert len(grand.connectors) == 1


def test_the_grand_final_reset_is_drawn_only_once_it_is_played():
    structure = build("double_elimination", 4, grand_final="reset")
    play = Play(structure)
    names = {1: "Alpha", 2: "Bravo", 3: "Charlie", 4: "Delta"}
    for side, round_ in (("winners", 1), ("winners", 2), ("losers", 1), ("losers", 2)):
        _record_all(play, side, round_)

    def grand() -> view.Section:
        return view.drawing(structure, play, names, bracket_id=7).sections[-1]

    assert [c.title for c in grand().columns] == ["Grand final"]  # not played (yet)
    assert grand().connectors == []
    first = next(m for m in play.matches if m.side == "grand_final" and m.round == 1)
    play.record(first.id, play.states[first.id].slots[1], (1, 3))  # won from the losers side

    after = grand()
    assert [c.title for c in after.columns] == ["Grand final", "Grand final reset"]
    reset = after.columns[1].cards[0]
    assert reset.status_label == "Ready to play"
    assert reset.aria.startswith("Grand final reset, match 1: ")
    assert [(c.source, c.target) for c in after.connectors] == [(first.id, reset.number)]


def test_every_card_says_where_it_is_who_plays_the_score_and_the_state():
    structure = build("double_elimination", 16)
    play = Play(structure)
    _record_all(play, "winners", 1)
    match = next(m for m in play.matches
                 if m.side == "winners" and m.round == 2 and m.position == 3)
    top, bottom = play.states[match.id].slots
    names = {s: f"P{s}" for s in range(1, 17)} | {top: "Alpha", bottom: "Bravo"}
    play.record(match.id, top, (2, 1))
    cards = _cards(view.drawing(structure, play, names))

    assert cards[match.id].aria == "Winners round 2, match 3: Alpha 2, Bravo 1, completed"
    assert cards[match.id].phase == "completed"
    waiting = next(m for m in play.matches if m.side == "losers" and m.round == 2)
    assert cards[waiting.id].aria.startswith("Losers round 2, match 1: ")
    assert cards[waiting.id].aria.endswith(", waiting for opponent")
    league, _ = _drawing("round_robin", 8, groups=2)
    assert _cards(league)[0].aria.startswith("Group A, round 1, match 1: P1, ")


def test_a_saved_card_shows_its_match_page_state():
    structure = build("single_elimination", 4)
    play = Play(structure)
    states = {0: MatchState.LIVE, 1: MatchState.DISPUTED}
    cards = _cards(view.drawing(structure, play, {1: "A", 2: "B", 3: "C", 4: "D"},
                                bracket_id=3, states=states))
    assert (cards[0].status_label, cards[0].phase) == ("Live", "live")
    assert (cards[1].status_label, cards[1].phase) == ("Disputed", "live")
    assert (cards[2].status_label, cards[2].phase) == ("Pending", "upcoming")


def test_round_robin_groups_have_tables_with_their_records():
    drawing, play = _drawing("round_robin", 8, groups=2)
    assert [t.title for t in drawing.tables] == ["Group A table", "Group B table"]
    assert drawing.tables_first and all(s.connectors == [] for s in drawing.sections)
    first = play.matches[0]
    winner, loser = play.states[first.id].slots
    play.record(first.id, loser, (0, 1))
    after = view.drawing(play.bracket, play, {s: f"P{s}" for s in range(1, 9)}, bracket_id=4)
    group = after.tables[(first.group or 1) - 1]
    rows = {row.seed: row for row in group.rows}
    assert [full for _, full in group.headers] == ["Played", "Won", "Lost", "Games won–lost",
                                                   "Game difference"]
    assert rows[loser].cells == ("1", "1", "0", "1–0", "+1") and rows[loser].place == 1
    assert rows[winner].cells == ("1", "0", "1", "0–1", "-1")
    assert after.standings_id == "standings-4"


def test_swiss_has_a_table_of_wins_losses_and_buchholz():
    drawing, play = _drawing("swiss", 8)
    [table] = drawing.tables
    assert [short for short, _ in table.headers] == ["W", "L", "Byes", "Bhz"]
    assert len(table.rows) == 8
    _record_all(play, "swiss", 1)
    after = view.drawing(play.bracket, play, {s: f"P{s}" for s in range(1, 9)})
    assert [row.cells[:2] for row in after.tables[0].rows[:4]] == [("1", "0")] * 4
    assert [row.cells[:2] for row in after.tables[0].rows[4:]] == [("0", "1")] * 4


def test_the_drawing_renders_labels_lines_and_tools_without_javascript(app):
    drawing, play = _drawing("single_elimination", 8)
    with app.test_request_context("/"):
        page = render_template("partials/bracket.html", drawing=drawing)
    assert page.count('<path data-from="') == 6
    assert page.count('class="bracket-col__title"') == 3
    # A preview card is reached by Tab itself (a saved one through its link).
    assert page.count('tabindex="0" role="group" aria-label="Quarter-finals, match ') == 4
    assert 'aria-label="Final, match 1: Winner of M5, Winner of M6, pending"' in page
    assert "data-bracket-tools hidden" in page  # the tools appear with the script only
    for key, title in (("winners-1", "Quarter-finals"), ("winners-3", "Final")):
        assert f'<option value="{key}">{title}</option>' in page


# --- live updates: only what changed ----------------------------------------------------------


def _element(page: str, element_id: str) -> str:
    """The outer HTML of the <div> or <section> with `element_id`, as sent."""
    start = page.index(f'id="{element_id}"')
    start = page.rindex("<", 0, start)
    tag = page[start + 1:page.index(" ", start)]
    depth, at = 0, start
    for found in re.finditer(rf"<{tag}[\s>]|</{tag}>", page[start:]):
        depth += -1 if found.group().startswith("</") else 1
        if depth == 0:
            at = start + found.end()
            break
    return page[start:at]


def _without_oob(fragment: str) -> str:
    return fragment.replace(' hx-swap-oob="outerHTML"', "", 1)


@pytest.fixture
def live_cup(make_tournament, make_field, organizer):
    cup = make_tournament("live-bracket", status=Status.LIVE, visibility=Visibility.PUBLIC,
                          capacity=8)
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    do(lambda: brackets.finalize(organizer, cup, bracket.version))
    return cup, bracket


def _pushed(app, event_type: str, cup, match, **payload) -> dict[str, str]:
    event = Event(1, event_type, cup.id, {"match_id": match.id, **payload})
    with fragments.render_context(app):
        return fragments.render(event)


def test_a_result_pushes_the_card_and_the_standings_the_page_would_draw(app, client,
                                                                      live_cup):
    cup, bracket = live_cup
    semi, final = row(bracket, 0), row(bracket, 2)
    play(semi)
    room = f"bracket:{cup.id}"

    pushed = _pushed(app, "match_completed", cup, semi)[room]
    followed = _pushed(app, "match_updated", cup, final, follow=True)[room]
    page = client.get(f"/t/{cup.slug}/bracket").get_data(as_text=True)

    # Every match is reached by Tab through its card's link, named for a screen reader.
    links = re.findall(r'<a href="/t/[^"]+" aria-label="([^"]+)">M\d+</a>', page)
    names = [r.name for r in matches.registrations_of(semi)]
    assert len(links) == 3
    assert re.fullmatch(rf"Semi-finals, match 1: {names[0]} \d, {names[1]} 0, completed",
                        links[0])
    assert '<section id="bracket"' not in pushed + followed  # not the whole bracket
    card_id, standings_id = f"match-{bracket.id}-0", f"standings-{bracket.id}"
    assert 'hx-swap-oob="outerHTML"' in _element(pushed, card_id)
    # Byte for byte what a fresh page draws (but for the swap attribute).
    assert _without_oob(_element(pushed, card_id)) == _element(page, card_id)
    assert _without_oob(_element(pushed, standings_id)) == _element(page, standings_id)
    winner = matches.registrations_of(semi)[0].name
    assert "match--completed" in _element(pushed, card_id) and winner in pushed
    # The next match received the winner: its card alone (its standings did not change).
    final_id = f"match-{bracket.id}-2"
    assert winner in _element(followed, final_id) and standings_id not in followed
    assert _without_oob(_element(followed, final_id)) == _element(page, final_id)


def test_a_check_in_pushes_the_card_without_the_standings(app, live_cup):
    cup, bracket = live_cup
    semi = row(bracket, 0)
    check_in_both(semi)
    pushed = _pushed(app, "match_updated", cup, semi)[f"bracket:{cup.id}"]
    assert f'id="match-{bracket.id}-0"' in pushed and "Ready to play" in pushed
    assert "standings-" not in pushed


def test_a_grand_final_event_redraws_the_bracket_and_a_draft_pushes_nothing(
        app, make_tournament, make_field, organizer):
    cup = make_tournament("live-double", status=Status.LIVE, visibility=Visibility.PUBLIC,
                          capacity=8, format=Format.DOUBLE_ELIMINATION,
                          grand_final=GrandFinal.RESET)
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    first = row(bracket, 0)
    # A draft: the match's own room only (its page is staff's), nothing for spectators.
    pushed = _pushed(app, "match_updated", cup, first)
    assert f"match:{first.id}" in pushed and f"bracket:{cup.id}" not in pushed
    do(lambda: brackets.finalize(organizer, cup, bracket.version))
    grand = db.session.scalar(select(Match).where(Match.bracket_id == bracket.id,
                                                  Match.side == "grand_final",
                                                  Match.round == 1))
    # Its reset appears (or goes) with it: the whole region, as drawn for a fresh page.
    region = _pushed(app, "match_completed", cup, grand)[f"bracket:{cup.id}"]
    assert region.startswith('<section id="bracket"') and "Grand final reset" not in region
