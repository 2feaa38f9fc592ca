"""Registration panel service: the filtered table, search, export batches and bulk actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import (
    ACTIVE,
    AuditLog,
    MemberRole,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Team,
    TeamMember,
    utcnow,
)
from app.services import registration_panel as panel
from app.services.errors import Invalid
from app.services.registration_panel import BulkRefused, Filters, PaymentState

S = RegistrationStatus


# --- helpers shared with tests/web/test_registration_panel.py ------------------------------


def register(tournament, user, status=S.CONFIRMED, *, team=None, players=(), substitutes=(),
             checked_in=False, reason=None, at=None) -> Registration:
    """A registration written straight to the database, consistent with the model's rules."""
    active = status in ACTIVE
    reg = Registration(tournament_id=tournament.id, user_id=user.id,
                       team_id=team.id if team else None, status=status, active=active,
                       removal_reason=reason, checked_in_at=utcnow() if checked_in else None)
    if at is not None:
        reg.created_at = at
    roster = [(u, MemberRole.PLAYER) for u in (players or [user])]
    roster += [(u, MemberRole.SUBSTITUTE) for u in substitutes]
    reg.members = [RegistrationMember(tournament_id=tournament.id, user_id=u.id, role=role,
                                      active=active) for u, role in roster]
    db.session.add(reg)
    db.session.commit()
    return reg


def pay(reg, status=PaymentStatus.VERIFIED, method=PaymentMethod.PROOF, amount=50) -> Payment:
    payment = Payment(registration_id=reg.id, tournament_id=reg.tournament_id,
                      payer_id=reg.user_id, method=method, status=status, amount=amount)
    db.session.add(payment)
    db.session.commit()
    return payment


def make_team(name, captain, members) -> Team:
    team = Team(name=name, captain_id=captain.id)
    team.members = [TeamMember(user_id=u.id) for u in members]
    db.session.add(team)
    db.session.commit()
    return team


def names(rows) -> list[str]:
    return [row.registration.name for row in rows]


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def field(make_user, tournament):
    """Five solo registrations in every status, with payments and check-ins."""
    ada = make_user("ada", display_name="Ada Lovelace")
    bob = make_user("bob_99", display_name="Bob 100% Real")
    cy = make_user("cyrus", display_name="Cy")
    dee = make_user("dee", display_name="Dee")
    eve = make_user("eve", display_name="Eve")
    regs = {
        "ada": register(tournament, ada, checked_in=True),
        "bob": register(tournament, bob, S.PENDING_PAYMENT),
        "cy": register(tournament, cy, S.WAITLISTED),
        "dee": register(tournament, dee, S.REMOVED, reason="Cheating"),
        "eve": register(tournament, eve, S.WAITLISTED),
    }
    pay(regs["ada"])
    pay(regs["bob"], PaymentStatus.REJECTED)
    pay(regs["bob"], PaymentStatus.SUBMITTED)  # resubmitted: the latest one counts
    pay(regs["dee"], PaymentStatus.REFUNDED, PaymentMethod.WALLET)
    return regs


def _table(tournament, **filters):
    return panel.table(tournament, Filters(**filters)).rows


# --- reading -----------------------------------------------------------------------------


def test_table_lists_every_registration_in_registration_order_with_latest_payment(
        tournament, field):
    rows = _table(tournament)
    assert names(rows) == ["Ada Lovelace", "Bob 100% Real", "Cy", "Dee", "Eve"]
    states = {row.registration.name: row.payment_state for row in rows}
    assert states == {"Ada Lovelace": PaymentState.VERIFIED, "Bob 100% Real":
                      PaymentState.SUBMITTED, "Cy": PaymentState.NONE,
                      "Dee": PaymentState.REFUNDED, "Eve": PaymentState.NONE}


def test_waitlisted_rows_carry_their_place_in_line(tournament, field):
    places = {row.registration.name: row.waitlist_position for row in _table(tournament)}
    assert places == {"Ada Lovelace": None, "Bob 100% Real": None, "Cy": 1, "Dee": None,
                      "Eve": 2}
    # Filtered to Eve alone, she is still second in line.
    [eve] = _table(tournament, search="eve")
    assert eve.waitlist_position == 2


@pytest.mark.parametrize(("filters", "expected"), [
    ({"status": S.WAITLISTED}, ["Cy", "Eve"]),
    ({"status": S.REMOVED}, ["Dee"]),
    ({"payment": PaymentState.NONE}, ["Cy", "Eve"]),
    ({"payment": PaymentState.SUBMITTED}, ["Bob 100% Real"]),
    ({"payment": PaymentState.REJECTED}, []),  # Bob's rejected proof is not his latest
    ({"payment": PaymentState.REFUNDED}, ["Dee"]),
    ({"checked_in": True}, ["Ada Lovelace"]),
    ({"checked_in": False}, ["Bob 100% Real", "Cy", "Dee", "Eve"]),
    ({"status": S.WAITLISTED, "search": "cy"}, ["Cy"]),
])
def test_filters_narrow_the_table(tournament, field, filters, expected):
    assert names(_table(tournament, **filters)) == expected


@pytest.mark.parametrize(("search", "expected"), [
    ("LOVELACE", ["Ada Lovelace"]),  # display name, any case
    ("cyrus", ["Cy"]),  # username
    ("100%", ["Bob 100% Real"]),  # a literal %, not a wildcard
    ("%", ["Bob 100% Real"]),
    ("_", ["Bob 100% Real"]),  # a literal _ (in bob_99), not "any character"
    ("b_9", ["Bob 100% Real"]),
    ("a_a", []),
    ("\\", []),
])
def test_search_matches_names_and_usernames_literally(tournament, field, search, expected):
    assert names(_table(tournament, search=search)) == expected


def test_search_finds_a_team_by_its_name_or_any_player(tournament, make_user, player):
    mates = [player, make_user("zed", display_name="Zed Zero"), make_user("yan")]
    team = make_team("Red_Comets", player, mates)
    sub = make_user("sub", display_name="Sam Sub")
    register(tournament, player, team=team, players=mates, substitutes=[sub])
    register(tournament, make_user("solo"))
    for search in ("red_com", "zero", "yan", "sam sub"):
        assert names(_table(tournament, search=search)) == ["Red_Comets"], search
    [row] = _table(tournament, search="comets")
    assert [u.display_name for u in row.players] == ["Player", "Zed Zero", "Yan"]
    assert [u.display_name for u in row.substitutes] == ["Sam Sub"]


def test_other_tournaments_never_show(tournament, field, make_tournament, make_user):
    other = make_tournament("other-cup")
    register(other, make_user("stranger"))
    assert "Stranger" not in names(_table(tournament))
    assert panel.status_counts(other)[S.CONFIRMED] == 1


def test_status_counts_count_each_status(tournament, field):
    assert panel.status_counts(tournament) == {
        S.PENDING_PAYMENT: 1, S.CONFIRMED: 1, S.WAITLISTED: 2, S.WITHDRAWN: 0, S.REMOVED: 1}


def test_table_pages_by_a_hundred(tournament, make_user):
    for i in range(105):
        register(tournament, make_user(f"p{i:03}"), S.WAITLISTED)
    first = panel.table(tournament, Filters())
    assert (first.total, first.pages, len(first.rows), first.first, first.last) == (
        105, 2, 100, 1, 100)
    second = panel.table(tournament, Filters(), page=2)
    assert names(second.rows) == ["P100", "P101", "P102", "P103", "P104"]
    assert [r.waitlist_position for r in second.rows] == [101, 102, 103, 104, 105]
    assert panel.table(tournament, Filters(), page=99).page == 2  # past the end: the last


def _count_queries(action) -> int:
    statements = []

    def count(_conn, _cursor, statement, *_args):
        # Not BEGIN (SQLite only) nor the refresh of the expired tournament.
        if statement.startswith("SELECT") and not statement.startswith("SELECT tournaments"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def _touch(rows) -> None:
    """Read everything the page and the CSV show (a lazy load here would be a query)."""
    for row in rows:
        reg = row.registration
        _ = (reg.name, reg.user.username, row.payment_state, row.waitlist_position,
             [u.display_name for u in row.players + row.substitutes])


def test_the_table_costs_the_same_queries_for_3_or_30_teams(tournament, make_user):
    def add_teams(start, count):
        for i in range(start, start + count):
            users = [make_user(f"t{i}m{j}") for j in range(3)]
            reg = register(tournament, users[0], S.WAITLISTED if i % 2 else S.CONFIRMED,
                           team=make_team(f"Team {i}", users[0], users), players=users)
            pay(reg)

    def load():
        db.session.expire_all()
        _touch(panel.table(tournament, Filters()).rows)

    add_teams(0, 3)
    few = _count_queries(load)
    add_teams(3, 27)
    # count, rows (with users, teams and latest payments), rosters, waitlist order
    assert _count_queries(load) == few == 4


def test_export_reads_in_batches_and_matches_the_table(tournament, make_user):
    for i in range(25):
        register(tournament, make_user(f"x{i:02}"), S.WAITLISTED if i % 3 else S.CONFIRMED)
    batches = []
    rows = list(panel.export(tournament, Filters(), batch=10))
    assert names(rows) == names(panel.table(tournament, Filters()).rows)
    db.session.expire_all()
    queries = _count_queries(lambda: batches.append(
        list(panel.export(tournament, Filters(status=S.WAITLISTED), batch=5))))
    assert len(batches[0]) == 16
    assert [r.waitlist_position for r in batches[0]] == list(range(1, 17))
    # 1 waitlist query + 4 batches of (rows + rosters); the last one is short.
    assert queries == 1 + 4 * 2


# --- bulk actions: what is refused before any service runs ------------------------------


def _audit_rows() -> int:
    return db.session.scalar(select(func.count(AuditLog.id)))


def _snapshot(tournament):
    return db.session.execute(
        select(Registration.id, Registration.status, Registration.checked_in_at,
               Registration.version).where(Registration.tournament_id == tournament.id)
        .order_by(Registration.id)).all()


def test_bulk_refuses_ids_of_another_tournament_and_changes_nothing(
        organizer, tournament, field, make_tournament, make_user):
    other = make_tournament("other-cup")
    foreign = register(other, make_user("stranger"))
    before, audits = _snapshot(tournament), _audit_rows()
    selection = {field["ada"].id: None, foreign.id: None}
    with pytest.raises(Invalid, match="not part of this tournament"):
        panel.apply_bulk(organizer, tournament, "remove", selection, "Spam")
    db.session.rollback()
    assert _snapshot(tournament) == before and _audit_rows() == audits
    assert db.session.get(Registration, foreign.id).status == S.CONFIRMED


@pytest.mark.parametrize(("action", "selection", "reason", "message"), [
    ("explode", {1: None}, "", "Choose what to do"),
    ("check_in", {}, "", "Select at least one registration"),
    ("remove", {1: None}, "   ", "Give a reason"),
    ("remove", {1: None}, "x" * 501, "under 500 characters"),
])
def test_bulk_refuses_bad_input(organizer, tournament, action, selection, reason, message):
    with pytest.raises(Invalid, match=message):
        panel.apply_bulk(organizer, tournament, action, selection, reason)


def test_bulk_refused_reports_409_when_any_refusal_is_a_conflict():
    refusals = [panel.Refusal(1, "A", "bad", 400), panel.Refusal(2, "B", "changed", 409)]
    error = BulkRefused(refusals)
    assert error.status == 409 and "2 selected registrations" in error.message
    assert BulkRefused(refusals[:1]).status == 400


def test_a_stale_version_refuses_the_whole_selection(organizer, tournament, field):
    ada, bob = field["ada"], field["bob"]
    before = _snapshot(tournament)
    with pytest.raises(BulkRefused) as caught:
        panel.apply_bulk(organizer, tournament, "remove",
                         {ada.id: ada.version, bob.id: bob.version - 1 or 99}, "Spam")
    db.session.rollback()
    assert [(r.registration_id, r.status) for r in caught.value.refusals] == [(bob.id, 409)]
    assert "changed since this page was loaded" in caught.value.refusals[0].message
    assert _snapshot(tournament) == before


# --- bulk actions through the registration services --------------------------------------


def test_bulk_remove_removes_all_with_the_reason_audited_and_frees_slots(
        organizer, tournament, field):
    ada, bob = field["ada"], field["bob"]
    done = panel.apply_bulk(organizer, tournament, "remove", {ada.id: ada.version,
                                                               bob.id: None}, "  No   show ")
    db.session.commit()
    assert [r.id for r in done.changed] == [ada.id, bob.id] and done.unchanged == []
    rows = {r.registration.name: r.registration for r in _table(tournament)}
    assert rows["Ada Lovelace"].status == rows["Bob 100% Real"].status == S.REMOVED
    assert rows["Ada Lovelace"].removal_reason == "No show"
    audits = db.session.scalars(select(AuditLog.object_id).where(
        AuditLog.action == "registration.removed")).all()
    assert sorted(audits) == [ada.id, bob.id]


def test_bulk_is_all_or_nothing_and_names_every_refused_registration(
        organizer, tournament, field, make_user):
    withdrawn = register(tournament, make_user("wendy"), S.WITHDRAWN)
    targets = {field["ada"].id: None, withdrawn.id: None, field["dee"].id: None}
    before, audits = _snapshot(tournament), _audit_rows()
    with pytest.raises(BulkRefused) as caught:
        panel.apply_bulk(organizer, tournament, "reinstate", targets)
    db.session.rollback()
    [refusal] = caught.value.refusals  # Ada is active (a no-op), Dee could be reinstated
    assert (refusal.registration_id, refusal.name, refusal.status) == (withdrawn.id, "Wendy",
                                                                       409)
    assert "withdrew" in refusal.message
    assert _snapshot(tournament) == before and _audit_rows() == audits


def test_bulk_reinstate_goes_to_the_waitlist_when_full(organizer, make_tournament, make_user):
    small = make_tournament("small-cup", capacity=1)
    register(small, make_user("holder"))
    gone = register(small, make_user("gone"), S.REMOVED, reason="Late")
    [back] = panel.apply_bulk(organizer, small, "reinstate", {gone.id: None}).changed
    db.session.commit()
    assert back.status == S.WAITLISTED and back.removal_reason is None


def _in_checkin(make_tournament, **fields):
    start = utcnow() + timedelta(minutes=10)
    return make_tournament("checkin-cup", starts_at=start, checkin_opens_at=start -
                           timedelta(minutes=30), checkin_closes_at=start,
                           registration_closes_at=start - timedelta(minutes=40), **fields)


def test_bulk_check_in_and_out(organizer, make_tournament, make_user):
    t = _in_checkin(make_tournament)
    regs = [register(t, make_user(f"c{i}")) for i in range(3)]
    selection = {r.id: None for r in regs[:2]}
    panel.apply_bulk(organizer, t, "check_in", selection)
    db.session.commit()
    assert [row.registration.name for row in _table(t, checked_in=True)] == ["C0", "C1"]
    checked = _table(t, checked_in=True)[0].registration
    assert checked.checked_in_by_id == organizer.id
    panel.apply_bulk(organizer, t, "check_out", {regs[0].id: None})
    db.session.commit()
    assert names(_table(t, checked_in=True)) == ["C1"]


def test_bulk_counts_registrations_already_in_that_state_apart(
        organizer, make_tournament, make_user):
    t = _in_checkin(make_tournament)
    here = register(t, make_user("here"), checked_in=True)
    late = register(t, make_user("late"))
    result = panel.apply_bulk(organizer, t, "check_in", {here.id: None, late.id: None})
    db.session.commit()
    assert ([r.id for r in result.changed], [r.id for r in result.unchanged]) == (
        [late.id], [here.id])
    checked_in = db.session.scalars(select(AuditLog.object_id).where(
        AuditLog.action == "registration.checked_in")).all()
    assert checked_in == [late.id]


def test_bulk_check_in_refuses_an_unpaid_registration_and_checks_in_nobody(
        organizer, make_tournament, make_user):
    t = _in_checkin(make_tournament, entry_fee=50)
    paid = register(t, make_user("paid"))
    unpaid = register(t, make_user("unpaid"), S.PENDING_PAYMENT)
    with pytest.raises(BulkRefused) as caught:
        panel.apply_bulk(organizer, t, "check_in", {paid.id: None, unpaid.id: None})
    db.session.rollback()
    assert [r.registration_id for r in caught.value.refusals] == [unpaid.id]
    assert _table(t, checked_in=True) == []


def test_two_concurrent_bulk_removals_remove_each_registration_once(
        app, organizer, tournament, field):
    import threading

    from app.database import write_intent
    from app.models import Tournament, User

    selection = {field["ada"].id: field["ada"].version, field["bob"].id: field["bob"].version}
    ids = (organizer.id, tournament.id)
    start, outcomes = threading.Barrier(2), []

    def remove() -> None:
        start.wait(5)  # before the first query: on SQLite that one waits for the write lock
        with app.app_context(), write_intent():
            try:
                actor, t = db.session.get(User, ids[0]), db.session.get(Tournament, ids[1])
                result = panel.apply_bulk(actor, t, "remove", dict(selection), "Spam")
                db.session.commit()
                outcomes.append((len(result.changed), len(result.unchanged)))
            except Exception as error:  # reported by the assertion below
                db.session.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=remove) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == [(0, 2), (2, 0)]
    db.session.rollback()  # see what the threads committed
    removed = db.session.scalars(select(AuditLog.object_id).where(
        AuditLog.action == "registration.removed")).all()
    assert sorted(removed) == sorted(selection)
