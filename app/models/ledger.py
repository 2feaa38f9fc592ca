"""The coin ledger: accounts and double-entry transactions.

Entries are never updated or deleted (database triggers refuse it); a mistake
is corrected by a reversing transaction. Each transaction's entries sum to
zero. An account's `balance` is a cache of the sum of its entries, updated in
the same transaction as the entries (a test fixture checks it after every test).
"""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamped
from app.models.user import User


class AccountKind(enum.StrEnum):
    WALLET = "WALLET"  # a user's coins; never negative
    PRIZE_POOL = "PRIZE_POOL"  # one per tournament
    FEES = "FEES"  # the platform's fees (one)
    ISSUANCE = "ISSUANCE"  # where granted coins come from (one; goes negative)


class Account(Timestamped, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind != 'WALLET' OR balance >= 0", name="wallet_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(
        Enum(AccountKind, native_enum=False, length=16, create_constraint=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    tournament_id: Mapped[int | None] = mapped_column(
        ForeignKey("tournaments.id", ondelete="RESTRICT"), unique=True)
    # Singleton accounts (fees, issuance) are found by code.
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)

    user: Mapped[User | None] = relationship()


class LedgerTransaction(Timestamped, Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same key with the same content returns this transaction; other content is an error.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # SHA-256 of the canonical content (kind, memo, entries), to compare a repeated key.
    content_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id"), index=True)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id")
    actor: Mapped[User | None] = relationship()


class LedgerEntry(Timestamped, Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("amount != 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[Account] = relationship()
