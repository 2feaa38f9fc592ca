"""Tournaments and their staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamped, utcnow
from app.models.game import Game
from app.models.user import User


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=24, create_constraint=True)


class Format(enum.StrEnum):
    SINGLE_ELIMINATION = "single_elimination"
    DOUBLE_ELIMINATION = "double_elimination"
    ROUND_ROBIN = "round_robin"
    SWISS = "swiss"


class Status(enum.StrEnum):
    DRAFT = "DRAFT"
    REGISTRATION = "REGISTRATION"
    CHECK_IN = "CHECK_IN"
    LIVE = "LIVE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class GrandFinal(enum.StrEnum):
    NONE = "none"
    SINGLE = "single"
    RESET = "reset"


class PrizeMode(enum.StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


class StaffRole(enum.StrEnum):
    ORGANIZER = "organizer"
    COORDINATOR = "coordinator"


class Tournament(Timestamped, Base):
    __tablename__ = "tournaments"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id"), index=True)
    format: Mapped[Format] = mapped_column(_enum(Format))
    team_based: Mapped[bool] = mapped_column(default=False)
    capacity: Mapped[int]
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.DRAFT, index=True)
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility), default=Visibility.PUBLIC)

    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    checkin_opens_at: Mapped[datetime | None]
    checkin_closes_at: Mapped[datetime | None]
    starts_at: Mapped[datetime]
    # The organizer's zone: forms show and read times in it; pages show the viewer's own.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")

    # Registration and check-in rules.
    max_substitutes: Mapped[int] = mapped_column(default=2)
    auto_remove_no_shows: Mapped[bool] = mapped_column(default=False)
    # Match operations: whether the two sides check in to each match (off: a match is READY
    # as soon as its entrants are known, or at its scheduled time); check-in opens this long
    # before a match's scheduled time; no-shows at the scheduled time are forfeited
    # automatically when the setting is on.
    match_checkin: Mapped[bool] = mapped_column(default=True, server_default=true())
    match_checkin_minutes: Mapped[int] = mapped_column(default=15, server_default=text("15"))
    auto_forfeit_no_shows: Mapped[bool] = mapped_column(default=False,
                                                        server_default=false())

    best_of: Mapped[int] = mapped_column(default=1)
    best_of_finals: Mapped[int] = mapped_column(default=3)
    # {"<round>": best_of} overrides for individual rounds.
    best_of_by_round: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    third_place_match: Mapped[bool] = mapped_column(default=False)
    grand_final: Mapped[GrandFinal] = mapped_column(_enum(GrandFinal), default=GrandFinal.SINGLE)
    auto_confirm_hours: Mapped[int] = mapped_column(default=24)

    entry_fee: Mapped[int] = mapped_column(default=0)
    prize_pool: Mapped[int] = mapped_column(default=0)
    prize_mode: Mapped[PrizeMode] = mapped_column(_enum(PrizeMode), default=PrizeMode.PERCENT)
    # Place 1 first: coins (fixed) or percent of the pool (percent).
    prize_distribution: Mapped[list[int]] = mapped_column(JSON, default=list)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    game: Mapped[Game] = relationship(lazy="joined")
    staff: Mapped[list[StaffMember]] = relationship(
        back_populates="tournament", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Tournament {self.slug}>"


class StaffMember(Timestamped, Base):
    __tablename__ = "tournament_staff"
    __table_args__ = (UniqueConstraint("tournament_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))

    tournament: Mapped[Tournament] = relationship(back_populates="staff")
    user: Mapped[User] = relationship(lazy="joined")
