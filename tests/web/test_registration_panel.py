"""Registration panel pages: who may use them, the table, bulk actions, no-shows and the CSV."""

from __future__ import annotations

import csv
import io
import re
import time
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    AuditLog,
    MemberRole,
    PaymentMethod,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    StaffMember,
    StaffRole,
    User,
    utcnow,
)
from tests.conftest import login
from tests.integration.test_registration_panel import make_team, pay, register

S = RegistrationStatus


@pytest.fixture
def coordinator(make_user, tournament):
    user = make_user("coord", display_name="Cora Coordinator")
    db.session.add(StaffMember(tournament_id=tournament.id, user_id=user.id,
                               role=StaffRole.COORDINATOR))
    db.session.commit()
    return user


@pytest.fixture
def users(admin, organizer, other_organizer, player, coordinator, make_tournament):
    """One user per role; `other_organizer` organizes a tournament of their own."""
    make_tournament("other-cup", owner=other_organizer)
    return {"admin": admin, "organizer": organizer, "other_organizer": other_organizer,
            "player": player, "coordinator": coordinator}


@pytest.fixture
def entries(tournament, make_user):
    """Ada (confirmed, paid, checked in), Bob (pending, proof sent), Cy (waitlisted)."""
    ada = register(tournament, make_user("ada", display_name="Ada Lovelace"), checked_in=True)
    bob = register(tournament, make_user("bob", display_name="Bob 100% Real"),
                   S.PENDING_PAYMENT)
    cy = register(tournament, make_user("cyrus", display_name="Cy"), S.WAITLISTED)
    pay(ada)
    pay(bob, PaymentStatus.SUBMITTED)
    return {"ada": ada, "bob": bob, "cy": cy}


def _url(tournament, suffix: str = "") -> str:
    return f"/manage/t/{tournament.slug}/registrations{suffix}"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _row_names(html: str) -> list[str]:
    return re.findall(r'<label for="select-\d+">([^<]*)</label>', html)


def _statuses(tournament) -> dict[str, S]:
    rows = db.session.execute(
        select(User.display_name, Registration.status).join(Registration.user)
        .where(Registration.tournament_id == tournament.id))
    return dict(rows.all())


def _audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditLog.id)))


# --- who may use it ----------------------------------------------------------------------


def _requests(tournament, entries) -> dict[str, tuple[str, str, dict]]:
    return {
        "view": ("GET", _url(tournament), {}),
        "csv": ("GET", _url(tournament, ".csv"), {}),
        "bulk": ("POST", _url(tournament, "/bulk"),
                 {"ids": [str(entries["ada"].id)], "action": "remove", "reason": "Spam"}),
        "no_shows": ("POST", _url(tournament, "/no-shows"), {}),
    }


@pytest.mark.parametrize("action", ["view", "csv", "bulk", "no_shows"])
def test_anonymous_visitors_are_sent_to_log_in(client, tournament, entries, action):
    method, url, data = _requests(tournament, entries)[action]
    response = client.open(url, method=method, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["player", "other_organizer"])
@pytest.mark.parametrize("action", ["view", "csv", "bulk", "no_shows"])
def test_players_and_other_organizers_are_refused(client, tournament, users, entries, role,
                                                  action):
    before, audits = _statuses(tournament), _audit_rows()
    method, url, data = _requests(tournament, entries)[action]
    login(client, users[role])
    response = client.open(url, method=method, data=data)
    assert response.status_code == 403
    assert "Ada Lovelace" not in _text(response)
    assert _statuses(tournament) == before and _audit_rows() == audits


@pytest.mark.parametrize("role", ["organizer", "coordinator", "admin"])
def test_staff_and_admins_see_the_panel_and_can_remove(client, tournament, users, entries,
                                                       role):
    login(client, users[role])
    page = client.get(_url(tournament))
    assert page.status_code == 200
    assert _row_names(_text(page)) == ["Ada Lovelace", "Bob 100% Real", "Cy"]
    assert _download(client, _url(tournament, ".csv")).status_code == 200
    response = client.post(_url(tournament, "/bulk"), data={
        "ids": [str(entries["cy"].id)], "action": "remove", "reason": "Duplicate account"})
    assert response.status_code == 303
    assert _statuses(tournament)["Cy"] == S.REMOVED
    [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "registration.removed"))
    assert row.actor_id == users[role].id and row.meta["reason"] == "Duplicate account"


def test_management_pages_link_to_the_panel(client, organizer, tournament):
    login(client, organizer)
    for url in (f"/manage/t/{tournament.slug}/", f"/manage/t/{tournament.slug}/staff"):
        assert f'href="{_url(tournament)}"' in _text(client.get(url)), url


# --- the table ---------------------------------------------------------------------------


def test_the_table_shows_status_payment_check_in_and_counters(
        client, organizer, tournament, entries, make_user):
    register(tournament, make_user("dee", display_name="Dee"), S.REMOVED, reason="Cheating")
    login(client, organizer)
    html = _text(client.get(_url(tournament)))
    counters = re.sub(r"\s+", " ", re.search(r'<dl class="panel-counters">(.*?)</dl>', html,
                                             re.S)[1])
    assert "Registered</dt><dd>2 / 16" in counters
    assert "Waitlisted</dt><dd>1" in counters and "Checked in</dt><dd>1" in counters
    rows = {name: row for name, row in re.findall(
        r'<label for="select-\d+">([^<]*)</label>(.*?)</tr>', html, re.S)}
    assert "Confirmed" in rows["Ada Lovelace"] and "Verified" in rows["Ada Lovelace"]
    assert "<time" in rows["Ada Lovelace"].split("Verified")[1]  # the check-in time
    assert "Entry fee due" in rows["Bob 100% Real"]
    assert "Proof submitted" in rows["Bob 100% Real"]
    assert "Waitlisted #1" in rows["Cy"]
    assert "Removed" in rows["Dee"] and "Cheating" in rows["Dee"]
    assert 'class="table-wrap"' in html  # scrolls sideways on a phone


def test_a_team_row_shows_its_roster(client, organizer, make_tournament, make_user):
    t = make_tournament("team-cup", team_based=True)
    mates = [make_user(n, display_name=n.title()) for n in ("kim", "lee", "max")]
    register(t, mates[0], team=make_team("Night Owls", mates[0], mates), players=mates,
             substitutes=[make_user("ned", display_name="Ned")])
    login(client, organizer)
    html = _text(client.get(f"/manage/t/{t.slug}/registrations"))
    assert _row_names(html) == ["Night Owls"]
    assert "Kim, Lee, Max" in html and "subs: Ned" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("status=WAITLISTED", ["Cy"]),
    ("payment=submitted", ["Bob 100% Real"]),
    ("payment=none", ["Cy"]),
    ("checked_in=yes", ["Ada Lovelace"]),
    ("checked_in=no&status=PENDING_PAYMENT", ["Bob 100% Real"]),
    ("q=100%25", ["Bob 100% Real"]),  # a literal %
    ("q=_", []),  # a literal _: no name has one
    ("q=CYRUS", ["Cy"]),  # username, any case
])
def test_filters_and_search_from_the_query_string(client, organizer, tournament, entries,
                                                  query, expected):
    login(client, organizer)
    response = client.get(_url(tournament) + "?" + query)
    assert response.status_code == 200
    assert _row_names(_text(response)) == expected


def test_an_invalid_filter_is_a_400_showing_nothing(client, organizer, tournament, entries):
    login(client, organizer)
    response = client.get(_url(tournament) + "?status=BANANA")
    assert response.status_code == 400
    assert "This filter is not valid" in _text(response)
    assert _row_names(_text(response)) == []


# --- bulk actions ------------------------------------------------------------------------


def _bulk(client, tournament, regs, action, reason="", query=""):
    ids = [f"{r.id}:{r.version}" for r in regs]
    return client.post(_url(tournament, "/bulk") + query,
                       data={"ids": ids, "action": action, "reason": reason})


def test_bulk_remove_redirects_back_to_the_same_filters_with_a_message(
        client, organizer, tournament, entries):
    login(client, organizer)
    response = _bulk(client, tournament, [entries["ada"], entries["bob"]], "remove",
                     "Left the event", query="?status=CONFIRMED&q=a")
    assert response.status_code == 303
    assert response.headers["Location"] == _url(tournament) + "?q=a&status=CONFIRMED"
    page = _text(client.get(response.headers["Location"]))
    assert "2 registrations removed." in page
    assert _statuses(tournament)["Ada Lovelace"] == S.REMOVED


def test_bulk_with_an_id_of_another_tournament_changes_nothing(
        client, organizer, tournament, entries, make_tournament, make_user):
    other = make_tournament("other-cup")
    foreign = register(other, make_user("stranger", display_name="Stranger"))
    before, audits = _statuses(tournament), _audit_rows()
    login(client, organizer)
    response = _bulk(client, tournament, [entries["ada"], foreign], "remove", "Spam")
    assert response.status_code == 400
    assert "not part of this tournament" in _text(response)
    assert "Stranger" not in _text(response)
    assert _statuses(tournament) == before and _audit_rows() == audits
    assert _statuses(other) == {"Stranger": S.CONFIRMED}


def test_bulk_remove_without_reason_is_a_400_on_the_reason_field(
        client, organizer, tournament, entries):
    login(client, organizer)
    response = _bulk(client, tournament, [entries["ada"]], "remove", "  ")
    assert response.status_code == 400
    html = _text(response)
    assert 'id="reason-error"' in html and "Give a reason" in html
    assert re.search(rf'value="{entries["ada"].id}:\d+" id="select-\d+"\s*checked', html)
    assert _statuses(tournament)["Ada Lovelace"] == S.CONFIRMED


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "check_in"}, "Select at least one registration"),
    ({"ids": ["1"], "action": ""}, "Choose what to do"),
    ({"ids": ["one"], "action": "check_in"}, "That selection is not valid"),
    ({"ids": ["99999999999"], "action": "check_in"}, "That selection is not valid"),
])
def test_bulk_bad_input_is_a_400(client, organizer, tournament, entries, data, message):
    audits = _audit_rows()
    login(client, organizer)
    response = client.post(_url(tournament, "/bulk"), data=data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _audit_rows() == audits


def _checkin_cup(make_tournament, **fields):
    start = utcnow() + timedelta(minutes=10)
    return make_tournament("checkin-cup", starts_at=start, checkin_opens_at=start -
                           timedelta(minutes=30), checkin_closes_at=start,
                           registration_closes_at=start - timedelta(minutes=40), **fields)


def test_bulk_check_in_refusal_names_the_row_keeps_the_selection_and_changes_nothing(
        client, organizer, make_tournament, make_user):
    t = _checkin_cup(make_tournament, entry_fee=50)
    paid = register(t, make_user("paid", display_name="Paid Player"))
    unpaid = register(t, make_user("unpaid", display_name="Unpaid Player"), S.PENDING_PAYMENT)
    pay(paid, method=PaymentMethod.WALLET)
    audits = _audit_rows()
    login(client, organizer)
    response = _bulk(client, t, [paid, unpaid], "check_in")
    assert response.status_code == 400  # not confirmed: bad input, not a race
    html = _text(response)
    assert "Nothing was changed: 1 selected registration could not take this action." in html
    assert "<li><strong>Unpaid Player</strong>: The entry fee is not paid yet" in html
    assert f'<tr id="registration-{unpaid.id}" class="panel-refused">' in html
    for reg in (paid, unpaid):  # both still ticked, ready to untick one and resend
        assert re.search(rf'value="{reg.id}:\d+" id="select-{reg.id}"\s*checked', html)
    assert _audit_rows() == audits
    assert db.session.scalar(select(func.count()).where(
        Registration.checked_in_at.is_not(None))) == 0


def test_bulk_check_in_then_out(client, organizer, make_tournament, make_user):
    t = _checkin_cup(make_tournament)
    regs = [register(t, make_user(f"c{i}", display_name=f"Player {i}")) for i in range(3)]
    login(client, organizer)
    response = _bulk(client, t, regs[:2], "check_in", query="?checked_in=no")
    assert response.status_code == 303
    page = _text(client.get(response.headers["Location"]))
    assert "2 registrations checked in." in page
    assert _row_names(page) == ["Player 2"]  # the filter "not checked in" was kept
    assert "by staff" in _text(client.get(f"/manage/t/{t.slug}/registrations?checked_in=yes"))
    for reg in regs:
        db.session.refresh(reg)
    response = _bulk(client, t, regs[:2], "check_out")
    assert "2 registrations checked out." in _text(client.get(response.headers["Location"]))


def test_bulk_on_a_stale_page_is_a_409_and_shows_the_current_state(
        client, organizer, tournament, entries):
    login(client, organizer)
    ada = entries["ada"]
    stale = f"{ada.id}:{ada.version}"
    ada.removal_reason = None  # any change bumps the version
    ada.seed = 3
    db.session.commit()
    response = client.post(_url(tournament, "/bulk"),
                           data={"ids": [stale], "action": "remove", "reason": "Spam"})
    assert response.status_code == 409
    assert "changed since this page was loaded" in _text(response)
    assert f'value="{ada.id}:{ada.version}"' in _text(response)  # the fresh version
    assert _statuses(tournament)["Ada Lovelace"] == S.CONFIRMED


def test_reinstate_reports_who_went_to_the_waitlist(client, organizer, make_tournament,
                                                    make_user):
    small = make_tournament("small-cup", capacity=1)
    register(small, make_user("holder"))
    gone = register(small, make_user("gone", display_name="Gone"), S.REMOVED, reason="Late")
    login(client, organizer)
    response = _bulk(client, small, [gone], "reinstate")
    page = _text(client.get(response.headers["Location"]))
    assert "1 registration reinstated (1 to the waitlist: no free slot)." in page
    assert "Waitlisted #1" in page


# --- no-shows ----------------------------------------------------------------------------


def test_no_shows_button_is_disabled_and_refused_while_check_in_is_open(
        client, organizer, make_tournament, make_user):
    t = _checkin_cup(make_tournament)
    register(t, make_user("late"))
    login(client, organizer)
    html = _text(client.get(f"/manage/t/{t.slug}/registrations"))
    assert re.search(r'class="danger" disabled\s+data-confirm="Remove every', html)
    response = client.post(f"/manage/t/{t.slug}/registrations/no-shows")
    assert response.status_code == 409
    assert "no-shows are removed after it closes" in _text(response)
    assert _statuses(t) == {"Late": S.CONFIRMED}


def test_no_shows_are_removed_in_one_action_after_check_in_closed(
        client, organizer, make_tournament, make_user):
    closed = utcnow() - timedelta(minutes=1)
    t = make_tournament("closed-cup", starts_at=closed, checkin_opens_at=closed -
                        timedelta(minutes=30), checkin_closes_at=closed,
                        registration_closes_at=closed - timedelta(hours=1))
    register(t, make_user("here", display_name="Here"), checked_in=True)
    register(t, make_user("gone", display_name="Gone"))
    register(t, make_user("late", display_name="Late"), S.PENDING_PAYMENT)
    login(client, organizer)
    html = _text(client.get(f"/manage/t/{t.slug}/registrations"))
    assert re.search(r'class="danger"\s+data-confirm="Remove every', html)  # enabled
    response = client.post(f"/manage/t/{t.slug}/registrations/no-shows")
    assert response.status_code == 303
    assert "Removed 2 no-shows." in _text(client.get(response.headers["Location"]))
    assert _statuses(t) == {"Here": S.CONFIRMED, "Gone": S.REMOVED, "Late": S.REMOVED}


# --- CSV export --------------------------------------------------------------------------


def _download(client, url: str):
    """GET a streamed response; note whether it was streamed before reading the body."""
    response = client.get(url)
    response.streamed = response.is_streamed  # reading the body buffers it
    response.body = response.get_data()
    db.session.rollback()
    return response


def _csv(response) -> list[dict[str, str]]:
    assert response.body.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM
    return list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))


def test_csv_is_a_streamed_attachment_with_a_bom_and_no_emails(
        client, organizer, tournament, entries):
    login(client, organizer)
    response = _download(client, _url(tournament, ".csv"))
    assert response.status_code == 200
    assert response.streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="spring-cup-registrations.csv"')
    rows = _csv(response)
    assert [r["name"] for r in rows] == ["Ada Lovelace", "Bob 100% Real", "Cy"]
    ada = rows[0]
    assert (ada["type"], ada["roster"], ada["status"], ada["payment"], ada["seed"]) == (
        "player", "Ada Lovelace", "Confirmed", "Verified", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ada["checked in at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ada["registered at"])
    assert rows[2]["waitlist position"] == "1" and rows[2]["checked in at"] == ""
    body = response.body.decode()
    assert "@" not in body and "example.com" not in body  # no emails
    assert "cyrus" not in body  # no usernames either: display names only


def test_csv_neutralizes_spreadsheet_formulas(client, organizer, make_tournament, make_user):
    t = make_tournament("formula-cup", team_based=True)
    evil = make_user("evil", display_name='=HYPERLINK("http://x","y")')
    plus = make_user("plus", display_name="+1 Player")
    team = make_team("@Team -1", evil, [evil, plus])
    register(t, evil, team=team, players=[evil, plus])
    register(t, make_user("minus", display_name="-2+3"), S.REMOVED, reason="=cmd|' /C calc'!A0")
    login(client, organizer)
    rows = _csv(_download(client, f"/manage/t/{t.slug}/registrations.csv"))
    assert [r["name"] for r in rows] == ["'@Team -1", "'-2+3"]
    assert rows[0]["roster"] == "'=HYPERLINK(\"http://x\",\"y\"); +1 Player"
    assert rows[0]["type"] == "team"
    assert rows[1]["removal reason"] == "'=cmd|' /C calc'!A0"
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_csv_applies_the_page_filters(client, organizer, tournament, entries):
    login(client, organizer)
    page = _text(client.get(_url(tournament) + "?payment=submitted&q=bob"))
    assert f'href="{_url(tournament, ".csv")}?q=bob&amp;payment=submitted"' in page
    rows = _csv(_download(client, _url(tournament, ".csv") + "?q=bob&payment=submitted"))
    assert [(r["name"], r["payment"]) for r in rows] == [("Bob 100% Real", "Proof submitted")]
    assert _download(client, _url(tournament, ".csv") + "?checked_in=maybe").status_code == 400


def test_csv_of_500_registrations_is_quick(client, organizer, make_tournament, make_user,
                                           password_hash):
    t = make_tournament("big-cup", capacity=512)
    db.session.execute(insert(User), [
        {"username": f"bulk{i}", "display_name": f"Bulk Player {i}",
         "email": f"bulk{i}@example.com", "password_hash": password_hash}
        for i in range(500)])
    ids = db.session.scalars(select(User.id).where(User.username.like("bulk%"))
                             .order_by(User.id)).all()
    now = utcnow()
    db.session.execute(insert(Registration), [
        {"tournament_id": t.id, "user_id": uid, "status": S.CONFIRMED, "active": True,
         "created_at": now, "updated_at": now, "version": 1} for uid in ids])
    regs = db.session.execute(select(Registration.id, Registration.user_id)
                              .where(Registration.tournament_id == t.id)).all()
    db.session.execute(insert(RegistrationMember), [
        {"registration_id": rid, "tournament_id": t.id, "user_id": uid,
         "role": MemberRole.PLAYER, "active": True} for rid, uid in regs])
    db.session.commit()
    login(client, organizer)
    started = time.monotonic()
    rows = _csv(_download(client, f"/manage/t/{t.slug}/registrations.csv"))
    assert time.monotonic() - started < 5
    assert len(rows) == 500
    assert rows[0]["name"] == "Bulk Player 0" and rows[-1]["roster"] == "Bulk Player 499"


def test_csv_streams_through_the_real_server(app, live_server, organizer, make_tournament,
                                             make_user):
    t = make_tournament("served-cup")
    for i in range(30):
        register(t, make_user(f"srv{i}", display_name=f"Served {i}"))
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": organizer.get_id(), "_fresh": True})
    request = urllib.request.Request(f"{live_server.url}/manage/t/{t.slug}/registrations.csv",
                                     headers={"Cookie": f"session={cookie}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        headers, body = response.headers, response.read()
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    assert body.startswith(b"\xef\xbb\xbfname,type,roster,")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == [f"Served {i}" for i in range(30)]


def test_the_same_bulk_form_sent_twice_acts_once(client, organizer, tournament, entries):
    login(client, organizer)
    regs = [entries["ada"], entries["bob"]]
    first = _bulk(client, tournament, regs, "remove", "Spam")
    second = _bulk(client, tournament, regs, "remove", "Spam")  # the same (now stale) page
    assert first.status_code == second.status_code == 303
    page = _text(client.get(second.headers["Location"]))
    assert "The selected registrations were removed already; nothing changed." in page
    assert db.session.scalar(select(func.count()).where(
        AuditLog.action == "registration.removed")) == 2


def test_a_refused_bulk_action_on_page_2_shows_page_2_again(client, organizer, tournament,
                                                            make_user):
    regs = [register(tournament, make_user(f"w{i:03}", display_name=f"Wait {i:03}"),
                     S.WAITLISTED) for i in range(101)]
    login(client, organizer)
    page = _text(client.get(_url(tournament) + "?page=2&status=WAITLISTED"))
    assert _row_names(page) == ["Wait 100"] and "Page 2 of 2" in page
    action = re.search(r'<form method="post" action="([^"]+/bulk[^"]*)"', page)[1]
    assert action == _url(tournament, "/bulk") + "?status=WAITLISTED&amp;page=2"
    response = client.post(action.replace("&amp;", "&"),
                           data={"ids": [f"{regs[-1].id}:1"], "action": "check_in"})
    assert response.status_code == 400
    html = _text(response)
    assert "Page 2 of 2" in html
    assert f'id="registration-{regs[-1].id}" class="panel-refused"' in html
    assert "on the waitlist (position 101)" in html
