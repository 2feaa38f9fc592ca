"""The tournament page's registration box and participant list, and the forms behind them."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Registration,
    RegistrationStatus,
    Status,
    Team,
    TeamMember,
    User,
    Visibility,
    utcnow,
)
from app.realtime import fragments
from app.realtime.feed import Event
from tests.conftest import login

S = RegistrationStatus


@pytest.fixture
def players(make_user) -> list[User]:
    return [make_user(f"p{i}", display_name=f"Player {i}") for i in range(1, 6)]


@pytest.fixture
def solo(make_tournament, duel):
    return make_tournament("solo-cup", game_id=duel.id, capacity=2)


@pytest.fixture
def team_cup(make_tournament):
    return make_tournament("team-cup", team_based=True, capacity=4, max_substitutes=1)


@pytest.fixture
def foxes(players) -> Team:
    team = Team(name="Red Foxes", captain_id=players[0].id)
    team.members = [TeamMember(user_id=u.id) for u in players[:4]]
    db.session.add(team)
    db.session.commit()
    return team


def page(client, slug: str) -> str:
    return client.get(f"/t/{slug}").get_data(as_text=True)


def box(html: str) -> str:
    """The registration box of a tournament page."""
    return re.search(r'<section class="card my-registration".*?</section>', html, re.S)[0]


def participants(html: str) -> str:
    return re.search(r'<section class="card participants".*?</section>', html, re.S)[0]


def registrations_in_db() -> list[tuple[str, RegistrationStatus]]:
    db.session.rollback()
    return [(r.user.username, r.status)
            for r in db.session.scalars(select(Registration).order_by(Registration.id))]


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


# --- the box ---------------------------------------------------------------------------


def test_anonymous_visitors_are_asked_to_log_in(client, solo):
    html = box(page(client, "solo-cup"))
    assert 'href="/login?next=/t/solo-cup"' in html and "Log in to register" in html
    assert "<form" not in html


def test_anonymous_register_post_goes_to_the_login_page(client, solo):
    response = client.post("/t/solo-cup/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/t/solo-cup"
    assert registrations_in_db() == []


def test_a_player_registers_with_one_button(app, solo, players):
    client = signed_in(app, players[0])
    assert ">Register</button>" in box(page(client, "solo-cup"))
    response = client.post("/t/solo-cup/register")
    assert response.status_code == 302 and response.headers["Location"] == "/t/solo-cup"
    html = page(client, "solo-cup")
    assert "You are registered for Solo Cup." in html
    assert "Confirmed" in box(html) and ">Register</button>" not in box(html)
    assert "Player 1" in participants(html) and "1 / 2" in participants(html)
    assert registrations_in_db() == [("p1", S.CONFIRMED)]


def test_an_entry_fee_shows_a_pay_here_link(app, make_tournament, duel, players):
    make_tournament("fee-cup", game_id=duel.id, entry_fee=50)
    client = signed_in(app, players[0])
    assert "Entry fee: 50 coins, paid after registering." in box(page(client, "fee-cup"))
    client.post("/t/fee-cup/register")
    html = page(client, "fee-cup")
    assert "Pay the entry fee of 50 coins to confirm your place." in html
    assert '<a class="button" href="/t/fee-cup/payment">Entry fee due: pay here</a>' in box(html)


def test_a_full_tournament_offers_the_waitlist_and_says_the_position(app, solo, players):
    for player in players[:2]:
        signed_in(app, player).post("/t/solo-cup/register")
    client = signed_in(app, players[2])
    assert "Join the waitlist</button>" in box(page(client, "solo-cup"))
    client.post("/t/solo-cup/register")
    html = page(client, "solo-cup")
    assert "The tournament is full: you are number 1 on the waitlist" in html
    assert "Waitlist #1" in box(html)
    assert "Waitlist" in participants(html) and "Player 3" in participants(html)


def test_registering_twice_says_so_and_changes_nothing(app, solo, players):
    client = signed_in(app, players[0])
    client.post("/t/solo-cup/register")
    response = client.post("/t/solo-cup/register")
    assert response.status_code == 400
    assert "You are already registered for Solo Cup (confirmed)." in box(
        response.get_data(as_text=True))
    assert registrations_in_db() == [("p1", S.CONFIRMED)]


def test_registering_after_the_window_says_when_it_closed(app, make_tournament, duel, players):
    make_tournament("late-cup", game_id=duel.id,
                    registration_closes_at=utcnow() - timedelta(hours=1))
    client = signed_in(app, players[0])
    assert "Registration closed on" in box(page(client, "late-cup"))
    response = client.post("/t/late-cup/register")
    assert response.status_code == 400 and "Registration closed on" in box(
        response.get_data(as_text=True))
    assert registrations_in_db() == []


def test_a_private_tournament_refuses_outsiders_with_404(app, make_tournament, duel, players):
    make_tournament("secret-cup", game_id=duel.id, visibility=Visibility.PRIVATE)
    response = signed_in(app, players[0]).post("/t/secret-cup/register")
    assert response.status_code == 404 and registrations_in_db() == []


def test_a_double_clicked_register_makes_one_registration(app, solo, players):
    barrier = threading.Barrier(3)
    codes = []

    def click(client) -> None:
        barrier.wait()
        codes.append(client.post("/t/solo-cup/register").status_code)

    threads = [threading.Thread(target=click, args=(signed_in(app, players[0]),))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(codes) == [302, 400, 400]
    assert registrations_in_db() == [("p1", S.CONFIRMED)]


# --- teams -----------------------------------------------------------------------------


def test_a_captain_ticks_the_roster_and_registers_the_team(app, team_cup, foxes, players):
    client = signed_in(app, players[0])
    html = box(page(client, "team-cup"))
    assert "Register Red Foxes" in html and "Tick exactly 3 players and up to 1 substitute" in html
    prefix = f"team{foxes.id}"
    assert f'name="{prefix}-players" value="{players[3].id}"' in html
    response = client.post(f"/t/team-cup/teams/{foxes.id}/register", data={
        f"{prefix}-players": [players[1].id, players[2].id, players[3].id],
        f"{prefix}-substitutes": [players[0].id]})
    assert response.status_code == 302
    html = page(client, "team-cup")
    assert "Red Foxes is registered for Team Cup." in html
    assert "Player 2, Player 3, Player 4, Player 1 (sub)" in participants(html)
    assert "Register Red Foxes" not in box(html)


def test_a_wrong_roster_shows_the_form_again_with_the_reason(app, team_cup, foxes, players):
    client = signed_in(app, players[0])
    prefix = f"team{foxes.id}"
    response = client.post(f"/t/team-cup/teams/{foxes.id}/register",
                           data={f"{prefix}-players": [players[1].id, players[2].id]})
    html = box(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Choose exactly 3 players (you chose 2)." in html
    assert "<details class=\"team-register\" open>" in html
    # The choices made are kept: ticked boxes stay ticked.
    assert f'value="{players[1].id}" id="{prefix}-players-{players[1].id}"' in html
    assert re.search(rf'value="{players[3].id}" id="{prefix}-players-{players[3].id}"'
                     r'[^>]*>', html)[0].count("checked") == 0
    assert registrations_in_db() == []


def test_a_team_member_who_is_not_captain_cannot_register_it(app, team_cup, foxes, players):
    client = signed_in(app, players[1])
    assert "A team captain registers the team" in box(page(client, "team-cup"))
    response = client.post(f"/t/team-cup/teams/{foxes.id}/register", data={
        f"team{foxes.id}-players": [players[1].id, players[2].id, players[3].id]})
    assert response.status_code == 403 and registrations_in_db() == []


def test_roster_members_see_their_team_and_who_manages_it(app, team_cup, foxes, players):
    signed_in(app, players[0]).post(f"/t/team-cup/teams/{foxes.id}/register", data={
        f"team{foxes.id}-players": [players[0].id, players[1].id, players[2].id]})
    html = box(page(signed_in(app, players[2]), "team-cup"))
    assert "You are on the roster as a player." in html
    assert "Your captain, Player 1, manages the registration" in html
    assert "Withdraw" not in html


# --- withdrawing and checking in -------------------------------------------------------


def test_withdraw_asks_for_confirmation_and_frees_the_slot(app, solo, players):
    client = signed_in(app, players[0])
    client.post("/t/solo-cup/register")
    html = box(page(client, "solo-cup"))
    assert 'data-confirm="Withdraw your registration from Solo Cup?' in html
    registration_id = db.session.scalar(select(Registration.id))
    response = client.post(f"/t/solo-cup/registrations/{registration_id}/withdraw")
    assert response.status_code == 302
    html = page(client, "solo-cup")
    assert "Your registration was withdrawn." in html and ">Register</button>" in box(html)
    assert registrations_in_db() == [("p1", S.WITHDRAWN)]


def test_someone_elses_registration_is_403_and_another_tournaments_is_404(
        app, solo, make_tournament, duel, players):
    signed_in(app, players[0]).post("/t/solo-cup/register")
    registration_id = db.session.scalar(select(Registration.id))
    make_tournament("other-cup", game_id=duel.id)
    intruder = signed_in(app, players[1])
    assert intruder.post(f"/t/solo-cup/registrations/{registration_id}/withdraw"
                         ).status_code == 403
    assert intruder.post(f"/t/other-cup/registrations/{registration_id}/withdraw"
                         ).status_code == 404
    owner = signed_in(app, players[0])
    assert owner.post(f"/t/other-cup/registrations/{registration_id}/check-in"
                      ).status_code == 404
    assert registrations_in_db() == [("p1", S.CONFIRMED)]


def test_withdrawing_after_the_start_says_why(app, make_tournament, duel, players):
    cup = make_tournament("started-cup", game_id=duel.id, status=Status.CHECK_IN)
    signed_in(app, players[0])
    db.session.add(Registration(tournament_id=cup.id, user_id=players[0].id,
                                status=S.CONFIRMED, active=True))
    cup.starts_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    registration_id = db.session.scalar(select(Registration.id))
    response = signed_in(app, players[0]).post(
        f"/t/started-cup/registrations/{registration_id}/withdraw")
    assert response.status_code == 409
    assert "The tournament has started: you can no longer withdraw." in response.get_data(
        as_text=True)


def _checkin_cup(make_tournament, duel, player: User, reg_status=S.CONFIRMED, **fields) -> int:
    start = utcnow() + timedelta(minutes=10)
    values = dict(game_id=duel.id, status=Status.CHECK_IN, starts_at=start,
                  registration_closes_at=start - timedelta(minutes=30),
                  checkin_opens_at=start - timedelta(minutes=30), checkin_closes_at=start)
    values.update(fields)
    cup = make_tournament("night-cup", **values)
    registration = Registration(tournament_id=cup.id, user_id=player.id, status=reg_status,
                                active=True)
    db.session.add(registration)
    db.session.commit()
    return registration.id


def test_a_player_checks_in_and_can_undo(app, make_tournament, duel, players):
    registration_id = _checkin_cup(make_tournament, duel, players[0])
    client = signed_in(app, players[0])
    assert ">Check in</button>" in box(page(client, "night-cup"))
    client.post(f"/t/night-cup/registrations/{registration_id}/check-in")
    html = page(client, "night-cup")
    assert "Checked in: Player 1 is ready to play." in html
    assert "Undo check-in</button>" in box(html) and "You can undo this until" in box(html)
    assert "Checked in" in participants(html)
    client.post(f"/t/night-cup/registrations/{registration_id}/undo-check-in")
    html = page(client, "night-cup")
    assert "Check-in undone" in html and ">Check in</button>" in box(html)


def test_checking_in_outside_the_window_says_when_it_opens(app, make_tournament, duel, players):
    start = utcnow() + timedelta(days=2)
    registration_id = _checkin_cup(make_tournament, duel, players[0], status=Status.REGISTRATION,
                                   starts_at=start, checkin_opens_at=start - timedelta(minutes=30),
                                   checkin_closes_at=start,
                                   registration_closes_at=start - timedelta(hours=1))
    client = signed_in(app, players[0])
    html = box(page(client, "night-cup"))
    assert ">Check in</button>" not in html and "Check-in opens" in html
    response = client.post(f"/t/night-cup/registrations/{registration_id}/check-in")
    assert response.status_code == 400
    assert "Check-in is not open yet: it opens on" in response.get_data(as_text=True)


def test_an_unpaid_player_is_told_to_pay_before_checking_in(app, make_tournament, duel,
                                                            players):
    registration_id = _checkin_cup(make_tournament, duel, players[0], S.PENDING_PAYMENT,
                                   entry_fee=20)
    client = signed_in(app, players[0])
    assert ">Check in</button>" not in box(page(client, "night-cup"))
    response = client.post(f"/t/night-cup/registrations/{registration_id}/check-in")
    assert response.status_code == 400
    assert "The entry fee is not paid yet" in response.get_data(as_text=True)


# --- live ------------------------------------------------------------------------------


def test_the_pushed_participant_list_is_the_one_on_the_page(app, solo, players):
    signed_in(app, players[0]).post("/t/solo-cup/register")
    event_id = db.session.scalar(select(func.max(Registration.id)))
    with fragments.render_context(app):
        pushed = fragments.render(Event(event_id, "registrations_changed", solo.id))
    html = pushed[f"tournament:{solo.id}"]
    assert f'id="tournament-{solo.id}-participants"' in html
    assert 'hx-swap-oob="outerHTML"' in html and "Player 1" in html and "1 / 2" in html
    # Broadcast to everyone: nothing in it belongs to one viewer.
    assert "csrf" not in html and "<form" not in html
    on_page = participants(page(app.test_client(), "solo-cup"))
    assert "hx-swap-oob" not in on_page and "Player 1" in on_page


def test_every_change_records_the_live_event(app, solo, players):
    from app.models import OutboxEvent

    signed_in(app, players[0]).post("/t/solo-cup/register")
    assert db.session.scalar(select(func.count()).where(
        OutboxEvent.type == "registrations_changed", OutboxEvent.tournament_id == solo.id)) == 1


def test_players_racing_for_the_last_slot_over_http_get_one_slot(app, solo, players):
    solo.capacity = 1
    db.session.commit()
    clients = [signed_in(app, p) for p in players]
    barrier = threading.Barrier(len(clients))
    codes = []

    def click(client) -> None:
        barrier.wait()
        codes.append(client.post("/t/solo-cup/register").status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [302] * len(players)
    states = [status for _, status in registrations_in_db()]
    assert sorted(states) == sorted([S.CONFIRMED] + [S.WAITLISTED] * (len(players) - 1))
