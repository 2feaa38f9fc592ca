"""Entry-fee payments: by wallet (a ledger transaction) or by an uploaded proof."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamped, utcnow
from app.models.registration import Registration
from app.models.user import User


class PaymentMethod(enum.StrEnum):
    WALLET = "WALLET"
    PROOF = "PROOF"


class PaymentStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"  # a proof waits for staff
    VERIFIED = "VERIFIED"  # paid (wallet payments are verified at once)
    REJECTED = "REJECTED"  # staff refused the proof (with a reason); the player may resubmit
    REFUNDED = "REFUNDED"  # given back (wallet: through the ledger; proof: marked, with a note)


class Payment(Timestamped, Base):
    __tablename__ = "payments"
    __table_args__ = (
        # At most one payment per registration is waiting or counts (submitted or verified).
        Index("uq_payments_open", "registration_id", unique=True,
              sqlite_where=text("status IN ('SUBMITTED', 'VERIFIED')"),
              postgresql_where=text("status IN ('SUBMITTED', 'VERIFIED')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"),
                                               index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[PaymentMethod] = mapped_column(
        Enum(PaymentMethod, native_enum=False, length=16, create_constraint=True))
    status: Mapped[PaymentStatus] = mapped_column(
        Enum(PaymentStatus, native_enum=False, length=16, create_constraint=True))
    amount: Mapped[int]
    # Wallet payments: the ledger transaction that moved the fee (and its refund).
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    refund_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"))
    # Proof payments: the stored file (generated name under UPLOAD_DIR) and what it is.
    proof_path: Mapped[str | None] = mapped_column(String(255))
    proof_content_type: Mapped[str | None] = mapped_column(String(64))
    proof_original_name: Mapped[str | None] = mapped_column(String(255))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))  # rejection reason or refund note
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    registration: Mapped[Registration] = relationship()
    payer: Mapped[User] = relationship(foreign_keys=[payer_id])
