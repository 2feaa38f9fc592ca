"""Registrations of players or teams in a tournament, their rosters and check-in."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamped, utcnow
from app.models.team import Team
from app.models.user import User


class RegistrationStatus(enum.StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"  # holds a slot; the entry fee is not paid yet
    CONFIRMED = "CONFIRMED"  # holds a slot and is paid (or the tournament is free)
    WAITLISTED = "WAITLISTED"  # no slot yet; promoted in order when one frees up
    WITHDRAWN = "WITHDRAWN"  # left by the player or captain
    REMOVED = "REMOVED"  # taken out by staff (with a reason); staff may reinstate


# Registrations that hold a slot or wait for one: their players may not register again.
ACTIVE = (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.CONFIRMED,
          RegistrationStatus.WAITLISTED)
HOLDS_SLOT = (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.CONFIRMED)


class MemberRole(enum.StrEnum):
    PLAYER = "PLAYER"
    SUBSTITUTE = "SUBSTITUTE"


class Registration(Timestamped, Base):
    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_tournament_status", "tournament_id", "status", "id"),
        # A team is registered once per tournament (among active registrations).
        Index("uq_registrations_active_team", "tournament_id", "team_id", unique=True,
              sqlite_where=text("active AND team_id IS NOT NULL"),
              postgresql_where=text("active AND team_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    # The player (solo) or the captain who registered the team.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    status: Mapped[RegistrationStatus] = mapped_column(
        Enum(RegistrationStatus, native_enum=False, length=24, create_constraint=True))
    # Mirrors status in ACTIVE, for the partial unique indexes (kept in step by the service).
    active: Mapped[bool] = mapped_column(default=True)
    checked_in_at: Mapped[datetime | None]
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    seed: Mapped[int | None]
    removal_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: a change made from a stale page is refused.
    version: Mapped[int] = mapped_column(default=1)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
    members: Mapped[list[RegistrationMember]] = relationship(
        back_populates="registration", cascade="all, delete-orphan",
        order_by="RegistrationMember.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def name(self) -> str:
        return self.team.name if self.team else self.user.display_name

    @property
    def holds_slot(self) -> bool:
        return self.status in HOLDS_SLOT

    @property
    def confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED


class RegistrationMember(Base):
    """A player on a registration's roster (a solo registration has exactly one)."""

    __tablename__ = "registration_members"
    __table_args__ = (
        # A player is in at most one active registration of a tournament, whatever team.
        Index("uq_registration_members_active_player", "tournament_id", "user_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(
        Enum(MemberRole, native_enum=False, length=16, create_constraint=True),
        default=MemberRole.PLAYER)
    active: Mapped[bool] = mapped_column(default=True)

    registration: Mapped[Registration] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")
