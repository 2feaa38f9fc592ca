"""The coin ledger: accounts, double-entry transactions, grants and reversals.

Every change of a balance is a transaction of two or more entries that sum to
zero. Balances are a cache of the entries and change only through `post`,
which moves them with one conditional UPDATE per account: a user wallet's
UPDATE matches only while the result stays >= 0, so two concurrent debits can
never overdraw it (PostgreSQL re-checks the condition after waiting for the
row lock; SQLite runs one writer at a time). The CHECK constraint
`wallet_not_negative` stays as the last line of defence.

Each transaction carries a unique idempotency key and a hash of its content:
posting a key again with the same content returns the first transaction and
writes nothing; with other content it is a Conflict. Functions flush, never
commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Account,
    AccountKind,
    LedgerEntry,
    LedgerTransaction,
    Tournament,
    User,
)
from app.services import accounts, audit
from app.services.errors import Conflict, Invalid, NotAllowed

GRANT = "grant"
REVERSAL = "reversal"
FEES_CODE, ISSUANCE_CODE = "fees", "issuance"
MAX_KEY, MAX_KIND, MAX_MEMO = 128, 32, 500
# Far below BigInteger's range, so no sum of entries can overflow it.
MAX_ENTRY = 10**12
MAX_GRANT = 1_000_000
PAGE_SIZE = 25
KIND_LABELS = {
    GRANT: "Coins granted",
    REVERSAL: "Correction",
    "entry_fee": "Entry fee",
    "refund": "Refund",
    "payout": "Prize",
}

Entries = Sequence[tuple[Account, int]]


# --- accounts ------------------------------------------------------------------------


def wallet(user: User) -> Account:
    """The user's wallet, created on first use (safe against a concurrent twin)."""
    return _get_or_create(AccountKind.WALLET, user_id=user.id)


def prize_pool(tournament: Tournament) -> Account:
    """The tournament's prize pool, created on first use."""
    return _get_or_create(AccountKind.PRIZE_POOL, tournament_id=tournament.id)


def fees() -> Account:
    """The platform's fees account (a singleton)."""
    return _get_or_create(AccountKind.FEES, code=FEES_CODE)


def issuance() -> Account:
    """Where granted coins come from (a singleton; its balance goes negative)."""
    return _get_or_create(AccountKind.ISSUANCE, code=ISSUANCE_CODE)


def find_wallet(user: User) -> Account | None:
    """The user's wallet if it exists; never writes (for pages read with GET)."""
    return db.session.scalar(select(Account).where(Account.user_id == user.id))


def balance_of(user: User) -> int:
    """The coins in the user's wallet (0 without a wallet); never writes."""
    account = find_wallet(user)
    return account.balance if account else 0


def _get_or_create(kind: AccountKind, **identity: int | str) -> Account:
    # Each identity column is unique, so a concurrent twin's INSERT fails; re-read its row.
    if (found := _find(identity)) is not None:
        return found
    try:
        with db.session.begin_nested():
            account = Account(kind=kind, balance=0, **identity)
            db.session.add(account)
    except IntegrityError:
        if (found := _find(identity)) is None:
            raise
        return found
    return account


def _find(identity: dict[str, int | str]) -> Account | None:
    return db.session.scalar(select(Account).filter_by(**identity))


# --- posting -------------------------------------------------------------------------


def post(
    key: str,
    kind: str,
    entries: Entries,
    *,
    memo: str = "",
    actor: User | None = None,
    tournament: Tournament | None = None,
) -> LedgerTransaction:
    """Post a balanced transaction once per `key` (flushes; Conflict on overdraft or reuse)."""
    return _post(key, kind, entries, memo, actor, tournament)[0]


def content_hash(kind: str, memo: str, entries: Sequence[tuple[int, int]]) -> str:
    """SHA-256 of the canonical JSON of kind, memo and the sorted (account id, amount) pairs."""
    canonical = json.dumps(
        {"kind": kind, "memo": memo, "entries": sorted([a, x] for a, x in entries)},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _post(key: str, kind: str, entries: Entries, memo: str, actor: User | None,
          tournament: Tournament | None) -> tuple[LedgerTransaction, bool]:
    """Post, or replay the key's first transaction; also say whether this call wrote it."""
    if any(account.id is None for account, _ in entries):
        db.session.flush()  # new accounts need their ids
    _validate(key, kind, memo, entries)
    digest = content_hash(kind, memo, [(a.id, x) for a, x in entries])
    if (earlier := _by_key(key)) is None:
        try:
            return _write(key, kind, memo, digest, entries, actor, tournament), True
        except IntegrityError as error:
            # Either a concurrent post with this key won, or the CHECK caught an overdraft.
            if (earlier := _by_key(key)) is None:
                if "wallet_not_negative" not in str(error.orig):
                    raise
                raise Conflict("Not enough coins for this; nothing was charged.") from error
    return _replay(earlier, digest), False


def _validate(key: str, kind: str, memo: str, entries: Entries) -> None:
    problem = None
    if not key or len(key) > MAX_KEY:
        problem = f"An idempotency key of 1 to {MAX_KEY} characters is required."
    elif not kind or len(kind) > MAX_KIND:
        problem = f"A transaction kind of 1 to {MAX_KIND} characters is required."
    elif len(memo) > MAX_MEMO:
        problem = f"The memo may have at most {MAX_MEMO} characters."
    else:
        problem = _entries_problem(entries)
    if problem:
        raise Invalid(f"This ledger transaction cannot be posted: {problem}")


def _entries_problem(entries: Entries) -> str | None:
    amounts = [amount for _, amount in entries]
    if len(entries) < 2:
        return "it needs at least two entries."
    if any(type(x) is not int or x == 0 or abs(x) > MAX_ENTRY for x in amounts):
        return f"amounts are whole numbers of coins, not 0, at most {MAX_ENTRY} each."
    if sum(amounts) != 0:
        return f"its entries sum to {sum(amounts)}, not 0."
    if len({account.id for account, _ in entries}) != len(entries):
        return "each account may appear once."
    return None


def _by_key(key: str) -> LedgerTransaction | None:
    return db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key))


def _replay(earlier: LedgerTransaction, digest: str) -> LedgerTransaction:
    if earlier.content_hash != digest:
        raise Conflict("This request was already used for a different ledger transaction; "
                       "nothing was written. Reload the page and try again.")
    return earlier


def _write(key: str, kind: str, memo: str, digest: str, entries: Entries,
           actor: User | None, tournament: Tournament | None) -> LedgerTransaction:
    """Insert the transaction (claiming the key first), move the balances, add the entries."""
    with db.session.begin_nested():  # a refusal below undoes all of it, and only it
        txn = LedgerTransaction(
            idempotency_key=key, content_hash=digest, kind=kind, memo=memo,
            actor_id=actor.id if actor else None,
            tournament_id=tournament.id if tournament else None,
        )
        db.session.add(txn)
        db.session.flush()
        # One order for every post, so two transfers between the same accounts cannot deadlock.
        for account, amount in sorted(entries, key=lambda e: e[0].id):
            _move(account, amount)
        txn.entries = [LedgerEntry(account_id=a.id, amount=x) for a, x in entries]
        db.session.flush()
    return txn


def _move(account: Account, amount: int) -> None:
    """Add `amount` to the balance, unless that would overdraw a user wallet."""
    moved = db.session.execute(
        update(Account)
        .where(Account.id == account.id, _may_take(amount))
        .values(balance=Account.balance + amount)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(account, ["balance"])
    if moved.rowcount != 1:
        raise _not_enough(account, amount)


def _may_take(amount: int) -> ColumnElement[bool]:
    """The UPDATE's guard: only a user wallet must stay at 0 or above."""
    return or_(Account.kind != AccountKind.WALLET, Account.balance + amount >= 0)


def _not_enough(account: Account, amount: int) -> Conflict:
    db.session.refresh(account)
    owner = f"{account.user.display_name}'s wallet" if account.user else "The account"
    return Conflict(f"Not enough coins: {owner} holds {account.balance} "
                    f"and this needs {-amount}. Nothing was charged.")


# --- grants and corrections ----------------------------------------------------------


def recipient(username: str) -> User:
    """The user a grant goes to, by username (with or without @); Invalid if unknown."""
    name = (username or "").strip().removeprefix("@")
    user = accounts.find_by_username(name) if name else None
    if user is None:
        message = f"There is no user called “{name}”." if name else "Enter a username."
        raise Invalid(message, {"username": message})
    return user


def grant(admin: User, user: User, amount: int, reason: str, key: str) -> LedgerTransaction:
    """Give `user` coins from issuance, once per `key`; audited."""
    if not admin.is_admin:
        raise NotAllowed("Only site admins may grant coins.")
    reason = " ".join((reason or "").split())
    _validate_grant(amount, reason)
    if not key:
        raise Invalid("This form has expired; reload the page and try again.")
    txn, created = _post(f"grant:{key}", GRANT, [(issuance(), -amount), (wallet(user), amount)],
                         reason, admin, None)
    if created:
        audit.record(admin, "ledger.granted", txn, username=user.username, amount=amount,
                     reason=reason)
    return txn


def _validate_grant(amount: int, reason: str) -> None:
    errors = {}
    if type(amount) is not int or not 1 <= amount <= MAX_GRANT:
        errors["amount"] = f"Grant a whole number of coins from 1 to {MAX_GRANT:,}."
    if not reason:
        errors["reason"] = "Say why these coins are granted."
    elif len(reason) > MAX_MEMO:
        errors["reason"] = f"Use at most {MAX_MEMO} characters."
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)


def reverse(actor: User | None, transaction: LedgerTransaction, key: str,
            memo: str) -> LedgerTransaction:
    """Post the exact opposite of `transaction` once per `key` (Conflict on overdraft); audited."""
    entries = [(entry.account, -entry.amount) for entry in transaction.entries]
    memo = memo or f"Reversal of transaction #{transaction.id}"
    txn, created = _post(key, REVERSAL, entries, memo, actor,
                         _tournament_of(transaction))
    if created:
        audit.record(actor, "ledger.reversed", txn, reverses=transaction.id, memo=memo)
    return txn


def _tournament_of(transaction: LedgerTransaction) -> Tournament | None:
    if transaction.tournament_id is None:
        return None
    return db.session.get(Tournament, transaction.tournament_id)


def recent_grants(limit: int = 20) -> list[tuple[LedgerTransaction, User, int]]:
    """The latest grants, newest first: (transaction, recipient, amount)."""
    rows = db.session.execute(
        select(LedgerTransaction, User, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .join(User, User.id == Account.user_id)
        .where(LedgerTransaction.kind == GRANT, Account.kind == AccountKind.WALLET)
        .options(selectinload(LedgerTransaction.actor))
        .order_by(LedgerTransaction.id.desc())
        .limit(limit)
    )
    return [(txn, user, amount) for txn, user, amount in rows]


# --- history -------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One entry of an account's history, with the balance right after it."""

    entry_id: int
    at: datetime
    label: str
    memo: str
    tournament_name: str | None
    tournament_slug: str | None
    amount: int
    balance: int


@dataclass(frozen=True)
class History:
    """One page of history, newest first; `older` is the cursor of the next page."""

    lines: list[Line]
    older: int | None


def label(kind: str) -> str:
    """What a transaction kind is called on a wallet page."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def history(account: Account | None, before: int | None = None,
            limit: int = PAGE_SIZE) -> History:
    """Entries of `account` with id below `before`, newest first, with running balances."""
    if account is None:
        return History([], None)
    query = (
        select(LedgerEntry, LedgerTransaction, Tournament.name, Tournament.slug)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .outerjoin(Tournament, Tournament.id == LedgerTransaction.tournament_id)
        .where(LedgerEntry.account_id == account.id)
    )
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    # One row more than shown tells whether an older page exists, without a count.
    rows = db.session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)).all()
    older = rows[limit - 1][0].id if len(rows) > limit else None
    rows = rows[:limit]
    balance = _balance_after(account, rows[0][0].id) if rows else 0
    return History(list(_lines(rows, balance)), older)


def _balance_after(account: Account, entry_id: int) -> int:
    """The balance right after entry `entry_id`: today's minus every newer entry (one query)."""
    newer = (select(func.coalesce(func.sum(LedgerEntry.amount), 0))
             .where(LedgerEntry.account_id == account.id, LedgerEntry.id > entry_id)
             .scalar_subquery())
    # int(): PostgreSQL sums a bigint column as numeric.
    return int(db.session.scalar(select(Account.balance - newer).where(Account.id == account.id)))


def _lines(rows: Sequence, balance: int) -> Iterator[Line]:
    for entry, txn, tournament_name, tournament_slug in rows:
        yield Line(entry.id, entry.created_at, label(txn.kind), txn.memo, tournament_name,
                   tournament_slug, entry.amount, balance)
        balance -= entry.amount
