"""The coin ledger: accounts, balanced transactions, idempotency, overdrafts, races."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text, true
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.database import write_intent
from app.extensions import db
from app.models import Account, AccountKind, AuditLog, LedgerEntry, LedgerTransaction, User
from app.services import ledger
from app.services.errors import Conflict, Invalid, NotAllowed


def written() -> tuple[int, int]:
    """How many ledger transactions and entries exist."""
    return (db.session.scalar(select(func.count(LedgerTransaction.id))),
            db.session.scalar(select(func.count(LedgerEntry.id))))


def balance(account_id: int) -> int:
    """The stored balance, read afresh from the database."""
    return db.session.scalar(select(Account.balance).where(Account.id == account_id))


def audits(action: str) -> int:
    return db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == action))


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def funded(admin, bob):
    """Bob's wallet, holding 50 coins granted by the admin."""
    ledger.grant(admin, bob, 50, "Welcome bonus", "welcome-bob")
    db.session.commit()
    return ledger.wallet(bob)


def run_at_once(app, count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in `count` threads, each with its own app context and session, at once.

    Each thread commits what its work did, or rolls back and returns the exception.
    """
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        with app.app_context(), write_intent():
            barrier.wait()
            try:
                results[i] = work(i)
                db.session.commit()
            except Exception as error:  # the test asserts on each outcome
                db.session.rollback()
                results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()  # the test's own session: see what the threads committed
    return results


# --- accounts ------------------------------------------------------------------------


def test_a_user_has_one_wallet_however_often_it_is_asked_for(bob):
    first = ledger.wallet(bob)
    db.session.commit()
    assert ledger.wallet(bob).id == first.id
    assert (first.kind, first.user_id, first.balance) == (AccountKind.WALLET, bob.id, 0)


def test_fees_and_issuance_are_singletons_and_each_tournament_has_its_own_pool(
        make_tournament):
    spring, autumn = make_tournament("spring"), make_tournament("autumn")
    assert ledger.fees().id == ledger.fees().id
    assert ledger.issuance().id == ledger.issuance().id
    assert ledger.fees().id != ledger.issuance().id
    assert ledger.prize_pool(spring).id == ledger.prize_pool(spring).id
    assert ledger.prize_pool(spring).id != ledger.prize_pool(autumn).id
    assert ledger.prize_pool(spring).kind == AccountKind.PRIZE_POOL


def test_reading_a_wallet_never_creates_it(bob):
    assert ledger.find_wallet(bob) is None
    assert ledger.balance_of(bob) == 0
    assert db.session.scalar(select(func.count(Account.id))) == 0


def test_wallets_asked_for_at_once_are_one_account(app, bob):
    user_id = bob.id
    results = run_at_once(app, 6, lambda i: ledger.wallet(db.session.get(User, user_id)).id)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert db.session.scalar(select(func.count(Account.id))) == 1


# --- posting -------------------------------------------------------------------------


def test_a_transfer_moves_coins_and_records_balanced_entries(funded, alice):
    target = ledger.wallet(alice)
    txn = ledger.post("gift-1", "gift", [(funded, -20), (target, 20)], memo="Thanks!")
    db.session.commit()
    assert (balance(funded.id), balance(target.id)) == (30, 20)
    assert sorted(e.amount for e in txn.entries) == [-20, 20]
    assert (txn.kind, txn.memo, txn.idempotency_key) == ("gift", "Thanks!", "gift-1")


def test_an_overdraft_is_refused_and_changes_nothing(funded, alice):
    target = ledger.wallet(alice)
    db.session.commit()
    before = written()
    with pytest.raises(Conflict, match="Not enough coins: Bob's wallet holds 50"):
        ledger.post("too-much", "gift", [(funded, -51), (target, 51)])
    db.session.commit()
    assert written() == before
    assert (balance(funded.id), balance(target.id)) == (50, 0)


def test_a_refused_post_leaves_the_callers_earlier_work_in_place(funded, alice):
    # post() refuses inside its own savepoint: the caller's transaction goes on.
    target = ledger.wallet(alice)
    ledger.post("first", "gift", [(funded, -10), (target, 10)])
    with pytest.raises(Conflict):
        ledger.post("second", "gift", [(funded, -41), (target, 41)])
    db.session.commit()
    assert (balance(funded.id), balance(target.id)) == (40, 10)


def test_the_whole_balance_may_be_spent(funded):
    ledger.post("all-in", "entry_fee", [(funded, -50), (ledger.fees(), 50)])
    db.session.commit()
    assert balance(funded.id) == 0


def test_only_user_wallets_must_stay_above_zero(bob):
    pool = ledger.fees()
    ledger.post("seed", "gift", [(ledger.issuance(), -5), (pool, 5)])
    ledger.post("drain", "gift", [(pool, -8), (ledger.wallet(bob), 8)])
    db.session.commit()
    assert balance(pool.id) == -3
    assert balance(ledger.issuance().id) == -5


BAD_ENTRIES = {
    "one entry": lambda w, f: [(w, 0)],
    "zero amount": lambda w, f: [(w, 0), (f, 0)],
    "fractional amount": lambda w, f: [(w, -1.5), (f, 1.5)],
    "boolean amount": lambda w, f: [(w, -1), (f, True)],
    "unbalanced": lambda w, f: [(w, -5), (f, 4)],
    "one account twice": lambda w, f: [(w, -5), (w, 5)],
    "huge amount": lambda w, f: [(w, -(10**13)), (f, 10**13)],
}


@pytest.mark.parametrize("case", BAD_ENTRIES)
def test_malformed_transactions_are_refused_and_write_nothing(funded, case):
    before = written()
    with pytest.raises(Invalid):
        ledger.post(f"bad-{case}", "gift", BAD_ENTRIES[case](funded, ledger.fees()))
    db.session.commit()
    assert written() == before
    assert balance(funded.id) == 50


@pytest.mark.parametrize("key, kind, memo", [("", "gift", ""), ("k" * 129, "gift", ""),
                                             ("k", "", ""), ("k", "gift", "m" * 501)])
def test_a_transaction_needs_a_key_a_kind_and_a_short_memo(funded, key, kind, memo):
    before = written()
    with pytest.raises(Invalid):
        ledger.post(key, kind, [(funded, -1), (ledger.fees(), 1)], memo=memo)
    assert written() == before


# --- idempotency ---------------------------------------------------------------------


def test_the_same_key_and_content_returns_the_first_transaction_and_writes_nothing(
        funded, alice):
    target = ledger.wallet(alice)
    first = ledger.post("pay-7", "gift", [(funded, -10), (target, 10)], memo="m")
    db.session.commit()
    before = written()
    # The entries' order is not part of the content.
    again = ledger.post("pay-7", "gift", [(target, 10), (funded, -10)], memo="m")
    db.session.commit()
    assert again.id == first.id
    assert written() == before
    assert (balance(funded.id), balance(target.id)) == (40, 10)


@pytest.mark.parametrize("change", ["amount", "memo", "kind", "account"])
def test_the_same_key_with_other_content_is_a_conflict_that_writes_nothing(
        funded, alice, make_user, change):
    target = ledger.wallet(alice)
    ledger.post("pay-8", "gift", [(funded, -10), (target, 10)], memo="m")
    db.session.commit()
    before = written()
    other = {
        "amount": ("gift", [(funded, -11), (target, 11)], "m"),
        "memo": ("gift", [(funded, -10), (target, 10)], "other"),
        "kind": ("refund", [(funded, -10), (target, 10)], "m"),
        "account": ("gift", [(funded, -10), (ledger.wallet(make_user("carol")), 10)], "m"),
    }[change]
    with pytest.raises(Conflict, match="already used for a different"):
        ledger.post("pay-8", other[0], other[1], memo=other[2])
    db.session.commit()
    assert written() == before
    assert (balance(funded.id), balance(target.id)) == (40, 10)


def test_the_content_hash_ignores_entry_order_but_not_content():
    same = ledger.content_hash("gift", "m", [(1, -5), (2, 5)])
    assert same == ledger.content_hash("gift", "m", [(2, 5), (1, -5)])
    assert same != ledger.content_hash("gift", "m", [(1, 5), (2, -5)])
    assert same != ledger.content_hash("gift", "n", [(1, -5), (2, 5)])
    assert len(same) == 64


# --- the database's own guards -------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET amount = amount + 1",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_transactions SET memo = 'edited'",
    "DELETE FROM ledger_transactions",
])
def test_the_database_refuses_to_change_or_delete_ledger_rows(funded, statement):
    before = written()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert written() == before
    assert sorted(db.session.scalars(select(LedgerEntry.amount))) == [-50, 50]
    assert db.session.scalar(select(LedgerTransaction.memo)) == "Welcome bonus"


def test_the_database_refuses_a_negative_wallet(funded):
    with pytest.raises(IntegrityError, match="wallet_not_negative"):
        db.session.execute(text("UPDATE ledger_accounts SET balance = -1 WHERE id = :id"),
                           {"id": funded.id})
    db.session.rollback()
    assert balance(funded.id) == 50


def test_an_overdraft_past_the_guard_is_still_refused_by_the_check_constraint(
        funded, alice, monkeypatch):
    # Take away the conditional UPDATE's guard: the CHECK constraint must still hold the line.
    monkeypatch.setattr(ledger, "_may_take", lambda amount: true())
    target = ledger.wallet(alice)
    db.session.commit()
    before = written()
    with pytest.raises(Conflict, match="Not enough coins"):
        ledger.post("sneaky", "gift", [(funded, -60), (target, 60)])
    db.session.commit()
    assert written() == before
    assert (balance(funded.id), balance(target.id)) == (50, 0)


# --- grants and reversals ------------------------------------------------------------


def test_a_grant_moves_coins_from_issuance_and_is_audited(admin, bob):
    txn = ledger.grant(admin, bob, 25, "  Tournament   winner ", "form-1")
    db.session.commit()
    assert ledger.balance_of(bob) == 25
    assert balance(ledger.issuance().id) == -25
    assert (txn.kind, txn.memo, txn.actor_id) == ("grant", "Tournament winner", admin.id)
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger.granted"))
    assert (row.actor_id, row.object_id) == (admin.id, txn.id)
    assert row.meta == {"username": "bob", "amount": 25, "reason": "Tournament winner"}


def test_a_grant_submitted_twice_grants_once_and_is_audited_once(admin, bob):
    first = ledger.grant(admin, bob, 25, "Bonus", "form-2")
    db.session.commit()
    again = ledger.grant(admin, bob, 25, "Bonus", "form-2")
    db.session.commit()
    assert again.id == first.id
    assert ledger.balance_of(bob) == 25
    assert audits("ledger.granted") == 1


@pytest.mark.parametrize("amount, reason, field", [
    (0, "Bonus", "amount"), (-5, "Bonus", "amount"), (1.5, "Bonus", "amount"),
    (ledger.MAX_GRANT + 1, "Bonus", "amount"), (10, "   ", "reason"), (10, "x" * 501, "reason"),
])
def test_a_bad_grant_names_the_field_and_writes_nothing(admin, bob, amount, reason, field):
    with pytest.raises(Invalid) as refused:
        ledger.grant(admin, bob, amount, reason, "form-3")
    assert field in refused.value.fields
    db.session.commit()
    assert written() == (0, 0)
    assert audits("ledger.granted") == 0


def test_only_site_admins_may_grant(bob, alice):
    with pytest.raises(NotAllowed):
        ledger.grant(alice, bob, 10, "Because", "form-4")
    assert written() == (0, 0)


def test_a_grant_finds_its_recipient_by_username(bob):
    assert ledger.recipient(" @Bob ").id == bob.id
    with pytest.raises(Invalid) as refused:
        ledger.recipient("nobody")
    assert refused.value.fields == {"username": "There is no user called “nobody”."}


def test_a_reversal_undoes_a_transaction_once_and_is_audited(admin, funded, alice):
    target = ledger.wallet(alice)
    txn = ledger.post("gift-9", "gift", [(funded, -30), (target, 30)])
    db.session.commit()
    reversal = ledger.reverse(admin, txn, "undo-gift-9", "Sent by mistake")
    db.session.commit()
    again = ledger.reverse(admin, txn, "undo-gift-9", "Sent by mistake")
    db.session.commit()
    assert again.id == reversal.id
    assert (balance(funded.id), balance(target.id)) == (50, 0)
    assert (reversal.kind, reversal.memo) == ("reversal", "Sent by mistake")
    assert sorted(e.amount for e in reversal.entries) == [-30, 30]
    assert audits("ledger.reversed") == 1


def test_coins_already_spent_cannot_be_reversed_out_of_a_wallet(admin, funded, alice):
    grant = db.session.scalar(select(LedgerTransaction).where(LedgerTransaction.kind == "grant"))
    ledger.post("spend", "gift", [(funded, -40), (ledger.wallet(alice), 40)])
    db.session.commit()
    with pytest.raises(Conflict, match="Not enough coins: Bob's wallet holds 10"):
        ledger.reverse(admin, grant, "undo-grant", "Granted by mistake")
    db.session.commit()
    assert balance(funded.id) == 10
    assert audits("ledger.reversed") == 0


# --- history -------------------------------------------------------------------------


def test_history_is_newest_first_with_the_balance_after_each_entry(admin, funded, alice):
    ledger.post("gift-a", "gift", [(funded, -20), (ledger.wallet(alice), 20)], memo="For you")
    ledger.grant(admin, alice, 5, "Bonus", "alice-bonus")
    ledger.post("gift-b", "gift", [(ledger.wallet(alice), -3), (funded, 3)])
    db.session.commit()
    lines = ledger.history(funded).lines
    assert [(x.label, x.memo, x.amount, x.balance) for x in lines] == [
        ("Gift", "", 3, 33), ("Gift", "For you", -20, 30),
        ("Coins granted", "Welcome bonus", 50, 50)]


def test_history_pages_carry_the_running_balance_across_pages(admin, funded):
    for i in range(7):
        ledger.post(f"fee-{i}", "entry_fee", [(funded, -1), (ledger.fees(), 1)])
    db.session.commit()
    first = ledger.history(funded, limit=3)
    second = ledger.history(funded, before=first.older, limit=3)
    third = ledger.history(funded, before=second.older, limit=3)
    assert [x.balance for x in first.lines] == [43, 44, 45]
    assert [x.balance for x in second.lines] == [46, 47, 48]
    assert [(x.amount, x.balance) for x in third.lines] == [(-1, 49), (50, 50)]
    assert third.older is None


# --- races ---------------------------------------------------------------------------


def test_debits_at_once_never_take_more_than_the_wallet_holds(app, funded):
    wallet_id = funded.id

    def debit(i: int) -> int:
        wallet = db.session.get(Account, wallet_id)
        return ledger.post(f"buy-{i}", "entry_fee", [(wallet, -10), (ledger.fees(), 10)]).id

    results = run_at_once(app, 8, debit)
    paid = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(paid), len(refused)) == (5, 3), results
    assert all("Not enough coins" in r.message for r in refused)
    assert balance(wallet_id) == 0
    assert balance(ledger.fees().id) == 50


def test_posts_with_one_key_at_once_make_one_transaction(app, funded, alice):
    wallet_id, target_id = funded.id, ledger.wallet(alice).id
    db.session.commit()
    before = written()

    def pay(_i: int) -> int:
        wallet, target = db.session.get(Account, wallet_id), db.session.get(Account, target_id)
        return ledger.post("double-click", "gift", [(wallet, -10), (target, 10)]).id

    results = run_at_once(app, 6, pay)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert written() == (before[0] + 1, before[1] + 2)
    assert (balance(wallet_id), balance(target_id)) == (40, 10)


def test_grants_from_one_form_submitted_at_once_grant_once(app, admin, bob):
    admin_id, bob_id = admin.id, bob.id

    def grant(_i: int) -> int:
        who, to = db.session.get(User, admin_id), db.session.get(User, bob_id)
        return ledger.grant(who, to, 30, "Double click", "same-form").id

    results = run_at_once(app, 5, grant)
    assert len(set(results)) == 1 and isinstance(results[0], int), results
    assert ledger.balance_of(bob) == 30
    assert audits("ledger.granted") == 1


def test_opposite_transfers_at_once_neither_deadlock_nor_overdraw(app, funded, alice, admin):
    ledger.grant(admin, alice, 50, "Even", "welcome-alice")
    ids = (funded.id, ledger.wallet(alice).id)
    db.session.commit()

    def transfer(i: int) -> int:
        source, target = (ids[0], ids[1]) if i % 2 else (ids[1], ids[0])
        accounts = db.session.get(Account, source), db.session.get(Account, target)
        return ledger.post(f"swap-{i}", "gift", [(accounts[0], -20), (accounts[1], 20)]).id

    results = run_at_once(app, 8, transfer)
    assert all(isinstance(r, int | Conflict) for r in results), results
    assert balance(ids[0]) + balance(ids[1]) == 100
    assert min(balance(ids[0]), balance(ids[1])) >= 0
