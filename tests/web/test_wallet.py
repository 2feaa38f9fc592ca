"""The wallet page and the admins' coin grants."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, AuditLog, LedgerTransaction
from app.services import ledger
from tests.conftest import login


def transactions() -> int:
    return db.session.scalar(select(func.count(LedgerTransaction.id)))


def grant_audits() -> int:
    return db.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.action == "ledger.granted"))


def rows(html: str) -> list[str]:
    """The history rows of a wallet page, in page order."""
    return re.findall(r'<tr id="ledgerentry-\d+">(.*?)</tr>', html, re.S)


def request_key(client) -> str:
    html = client.get("/admin/grants").get_data(as_text=True)
    return re.search(r'name="request_key" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def as_admin(client, admin):
    login(client, admin)
    return client


# --- the wallet page -----------------------------------------------------------------


def test_the_wallet_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/wallet")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_new_player_sees_an_empty_wallet_and_looking_creates_nothing(client, player):
    login(client, player)
    html = client.get("/wallet").get_data(as_text=True)
    assert "<strong>0</strong> coins" in html
    assert "No coins have moved in or out of your wallet yet." in html
    assert db.session.scalar(select(func.count(Account.id))) == 0


def test_the_wallet_shows_the_balance_and_the_history_newest_first(client, admin, player,
                                                                    make_user):
    ledger.grant(admin, player, 50, "Welcome bonus", "k1")
    ledger.post("gift", "gift", [(ledger.wallet(player), -20),
                                 (ledger.wallet(make_user("mate")), 20)], memo="For the team")
    db.session.commit()
    login(client, player)
    html = client.get("/wallet").get_data(as_text=True)
    assert "<strong>30</strong> coins" in html
    newest, oldest = rows(html)
    assert "Gift" in newest and "For the team" in newest
    assert "<strong>-20</strong>" in newest and "<td>30</td>" in newest
    assert "Coins granted" in oldest and "Welcome bonus" in oldest
    assert "<strong>+50</strong>" in oldest and "<td>50</td>" in oldest


def test_the_wallet_names_the_tournament_a_transaction_belongs_to(client, player, tournament,
                                                                   admin):
    ledger.grant(admin, player, 10, "Start", "k1")
    ledger.post("fee", "entry_fee", [(ledger.wallet(player), -10),
                                     (ledger.prize_pool(tournament), 10)], tournament=tournament)
    db.session.commit()
    login(client, player)
    newest = rows(client.get("/wallet").get_data(as_text=True))[0]
    assert "Entry fee" in newest
    assert f'href="/t/{tournament.slug}"' in newest and tournament.name in newest


def test_a_player_sees_only_their_own_wallet(client, admin, player, make_user):
    ledger.grant(admin, make_user("rich"), 999, "Secret bonus", "k1")
    ledger.grant(admin, player, 5, "Small bonus", "k2")
    db.session.commit()
    login(client, player)
    html = client.get("/wallet").get_data(as_text=True)
    assert "Small bonus" in html and "<strong>5</strong> coins" in html
    assert "Secret bonus" not in html and "<strong>999</strong>" not in html


def test_a_long_history_comes_a_page_at_a_time(client, admin, player):
    ledger.grant(admin, player, 100, "Start", "start")
    for i in range(30):
        ledger.post(f"fee-{i}", "entry_fee", [(ledger.wallet(player), -1), (ledger.fees(), 1)])
    db.session.commit()
    login(client, player)
    first = client.get("/wallet").get_data(as_text=True)
    assert len(rows(first)) == ledger.PAGE_SIZE
    older = re.search(r'href="(/wallet\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert len(rows(second)) == 31 - ledger.PAGE_SIZE
    assert "<td>100</td>" in rows(second)[-1] and "Start" in rows(second)[-1]
    assert "Older entries" not in second and "← Newest" in second


def test_signed_in_users_find_the_wallet_in_the_navigation(client, player):
    assert 'href="/wallet"' not in client.get("/").get_data(as_text=True)
    login(client, player)
    assert 'href="/wallet"' in client.get("/").get_data(as_text=True)


# --- admin grants --------------------------------------------------------------------


def test_the_games_page_links_to_coin_grants(as_admin):
    assert 'href="/admin/grants"' in as_admin.get("/admin/games").get_data(as_text=True)


def test_each_grant_form_carries_its_own_request_key(as_admin):
    assert request_key(as_admin) != request_key(as_admin)


def test_an_admin_grants_coins_with_a_reason(as_admin, admin, player):
    data = {"username": "@Player", "amount": "40", "reason": "Won the community cup",
            "request_key": request_key(as_admin)}
    response = as_admin.post("/admin/grants", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/grants"
    page = as_admin.get("/admin/grants").get_data(as_text=True)
    assert "Granted 40 coins to Player (@player)." in page
    assert "Won the community cup" in page and "<strong>+40</strong>" in page
    assert ledger.balance_of(player) == 40
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger.granted"))
    assert (row.actor_id, row.meta["username"], row.meta["amount"]) == (admin.id, "player", 40)


def test_a_grant_form_submitted_twice_grants_once(as_admin, player):
    data = {"username": "player", "amount": "40", "reason": "Bonus",
            "request_key": request_key(as_admin)}
    assert as_admin.post("/admin/grants", data=data).status_code == 303
    assert as_admin.post("/admin/grants", data=data).status_code == 303
    assert ledger.balance_of(player) == 40
    assert (transactions(), grant_audits()) == (1, 1)


def test_a_double_click_sent_at_once_grants_once(app, as_admin, admin, player):
    data = {"username": "player", "amount": "40", "reason": "Bonus",
            "request_key": request_key(as_admin)}
    barrier = threading.Barrier(4)
    statuses = []
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        login(client, admin)

    def click(client) -> None:
        barrier.wait()
        statuses.append(client.post("/admin/grants", data=data).status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()
    assert statuses == [303] * 4
    assert ledger.balance_of(player) == 40
    assert (transactions(), grant_audits()) == (1, 1)


def test_a_used_grant_form_cannot_grant_something_else(as_admin, player):
    data = {"username": "player", "amount": "40", "reason": "Bonus",
            "request_key": request_key(as_admin)}
    as_admin.post("/admin/grants", data=data)
    response = as_admin.post("/admin/grants", data={**data, "amount": "400"})
    assert response.status_code == 409
    assert "already used for a different" in response.get_data(as_text=True)
    assert ledger.balance_of(player) == 40
    assert (transactions(), grant_audits()) == (1, 1)


BAD_GRANTS = {
    "unknown user": ({"username": "nobody"}, "There is no user called “nobody”."),
    "no user": ({"username": "  "}, "Enter the username of the player to give coins to."),
    "zero": ({"amount": "0"}, "Grant a whole number of coins from 1 to 1,000,000."),
    "negative": ({"amount": "-5"}, "Grant a whole number of coins from 1 to 1,000,000."),
    "fraction": ({"amount": "1.5"}, "Not a valid integer value."),
    "words": ({"amount": "ten"}, "Not a valid integer value."),
    "huge": ({"amount": "1000000000000"}, "Grant a whole number of coins from 1 to 1,000,000."),
    "no amount": ({"amount": ""}, "Enter how many coins to grant."),
    "no reason": ({"reason": ""}, "Say why these coins are granted."),
    "blank reason": ({"reason": "   "}, "Say why these coins are granted."),
    "long reason": ({"reason": "x" * 501}, "Field cannot be longer than 500 characters."),
}


@pytest.mark.parametrize("case", BAD_GRANTS)
def test_bad_grant_input_shows_why_and_writes_nothing(as_admin, player, case):
    change, message = BAD_GRANTS[case]
    data = {"username": "player", "amount": "40", "reason": "Bonus",
            "request_key": request_key(as_admin), **change}
    response = as_admin.post("/admin/grants", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="error"' in html
    assert (transactions(), grant_audits()) == (0, 0)
    assert db.session.scalar(select(func.count(Account.id))) == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_players_may_not_grant_coins(client, player, method):
    login(client, player)
    data = {"username": "player", "amount": "40", "reason": "Mine", "request_key": "k"}
    assert client.open("/admin/grants", method=method, data=data).status_code == 403
    assert transactions() == 0
