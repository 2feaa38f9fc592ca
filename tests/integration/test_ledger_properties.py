"""Property tests: any sequence of grants, transfers, reversals and repeated keys keeps the
ledger's invariants, and every refused operation leaves the ledger exactly as it was."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Account, AccountKind, LedgerTransaction
from app.services import ledger
from app.services.errors import Conflict, Invalid

WALLETS = 3
# Account slots: the wallets, then a prize pool and the fees account.
SLOTS = WALLETS + 2
ISSUANCE = -1  # the model's index of the issuance account

amounts = st.integers(min_value=1, max_value=120)
grants = st.tuples(st.just("grant"), st.integers(0, WALLETS - 1), amounts)
transfers = st.tuples(st.just("transfer"), st.integers(0, SLOTS - 1), st.integers(0, SLOTS - 1),
                      amounts)
repeats = st.tuples(st.just("repeat"), st.integers(0, 40), st.booleans())
reversals = st.tuples(st.just("reverse"), st.integers(0, 40))
operations = st.lists(st.one_of(grants, transfers, repeats, reversals), max_size=25)


@dataclass
class Posted:
    key: str
    kind: str
    memo: str
    entries: list[tuple[int, int]]  # (account slot, amount)
    id: int


@dataclass
class Model:
    """What the ledger should hold: balances per slot and what was posted."""

    balances: dict[int, int] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)

    def allows(self, entries: list[tuple[int, int]]) -> bool:
        return all(slot >= WALLETS or self.balances.get(slot, 0) + amount >= 0
                   for slot, amount in entries if slot != ISSUANCE)

    def apply(self, entries: list[tuple[int, int]]) -> None:
        for slot, amount in entries:
            self.balances[slot] = self.balances.get(slot, 0) + amount


@pytest.fixture
def slots(admin, make_user, tournament) -> dict[int, int]:
    """Account ids by model slot, committed with zero balances."""
    users = [make_user(f"holder{i}") for i in range(WALLETS)]
    accounts = [*(ledger.wallet(u) for u in users), ledger.prize_pool(tournament), ledger.fees(),
                ledger.issuance()]
    db.session.commit()
    return {slot: a.id for slot, a in zip([*range(SLOTS), ISSUANCE], accounts, strict=True)}


def snapshot() -> tuple:
    """Everything a refused operation must leave unchanged."""
    balances = db.session.execute(select(Account.id, Account.balance).order_by(Account.id)).all()
    count = db.session.scalar(select(func.count(LedgerTransaction.id)))
    entries = db.session.scalar(text("SELECT COUNT(*) FROM ledger_entries"))
    return tuple(balances), count, entries


def check_invariants(slots: dict[int, int], model: Model) -> None:
    unbalanced = db.session.execute(text(
        "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id "
        "HAVING SUM(amount) != 0")).all()
    assert unbalanced == []
    drift = db.session.execute(text(
        "SELECT a.id FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id "
        "GROUP BY a.id, a.balance HAVING a.balance != COALESCE(SUM(e.amount), 0)")).all()
    assert drift == []
    stored = dict(db.session.execute(select(Account.id, Account.balance)).all())
    assert all(stored[slots[s]] >= 0 for s in range(WALLETS))
    assert {s: stored[slots[s]] for s in slots} == {s: model.balances.get(s, 0) for s in slots}
    assert db.session.scalar(select(func.count(LedgerTransaction.id))) == len(model.posted)


def account(slots: dict[int, int], slot: int) -> Account:
    return db.session.get(Account, slots[slot])


def attempt(slots: dict[int, int], model: Model, key: str, kind: str, memo: str,
            entries: list[tuple[int, int]], reverses: int | None = None) -> None:
    """Post a new transaction (or reverse one) and check the outcome against the model."""
    before = snapshot()
    valid = len({s for s, _ in entries}) == len(entries)
    try:
        if reverses is None:
            txn = ledger.post(key, kind, [(account(slots, s), x) for s, x in entries], memo=memo)
        else:
            txn = ledger.reverse(None, db.session.get(LedgerTransaction, reverses), key, memo)
    except (Conflict, Invalid) as refused:
        event(f"{kind} refused")
        assert not valid or not model.allows(entries), refused.message
        assert snapshot() == before
        return
    event(f"{kind} posted")
    assert valid and model.allows(entries)
    model.apply(entries)
    model.posted.append(Posted(key, kind, memo, entries, txn.id))


def repeat(slots: dict[int, int], model: Model, index: int, same: bool) -> None:
    """Post an earlier key again: the same content replays, other content is refused."""
    if not model.posted:
        return
    earlier = model.posted[index % len(model.posted)]
    before = snapshot()
    event("key repeated with the same content" if same else "key repeated with other content")
    entries = [(account(slots, s), x) for s, x in earlier.entries]
    if same:
        again = ledger.post(earlier.key, earlier.kind, entries[::-1], memo=earlier.memo)
        assert again.id == earlier.id
    else:
        with pytest.raises(Conflict):
            ledger.post(earlier.key, earlier.kind, entries, memo=earlier.memo + " (edited)")
    assert snapshot() == before


def run(slots: dict[int, int], model: Model, n: int, op: tuple) -> None:
    match op:
        case ("grant", slot, amount):
            attempt(slots, model, f"op-{n}", "grant", "", [(ISSUANCE, -amount), (slot, amount)])
        case ("transfer", source, target, amount):
            attempt(slots, model, f"op-{n}", "gift", f"#{n}", [(source, -amount), (target, amount)])
        case ("repeat", index, same):
            repeat(slots, model, index, same)
        case ("reverse", index) if model.posted:
            earlier = model.posted[index % len(model.posted)]
            attempt(slots, model, f"op-{n}", "reversal", f"undo #{n}",
                    [(s, -x) for s, x in earlier.entries], reverses=earlier.id)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_of_operations_keeps_every_invariant(slots, ops):
    model = Model()
    try:
        for n, op in enumerate(ops):
            run(slots, model, n, op)
            check_invariants(slots, model)
    finally:
        db.session.rollback()  # each example starts again from the empty, committed accounts


def test_the_slots_are_what_the_model_thinks(slots):
    kinds = [db.session.get(Account, slots[s]).kind for s in [*range(SLOTS), ISSUANCE]]
    assert kinds == [*[AccountKind.WALLET] * WALLETS, AccountKind.PRIZE_POOL, AccountKind.FEES,
                     AccountKind.ISSUANCE]
