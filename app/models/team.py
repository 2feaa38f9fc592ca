"""Teams, their members and pending invitations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamped
from app.models.user import User


class InviteStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"


class Team(Timestamped, Base):
    __tablename__ = "teams"
    # Names are unique whatever their case (SQLite's lower() folds ASCII letters only).
    __table_args__ = (Index("uq_teams_lower_name", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Disbanded teams stay for history (past registrations point at them).
    disbanded_at: Mapped[datetime | None]

    captain: Mapped[User] = relationship(lazy="joined")
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.id"
    )

    @property
    def active(self) -> bool:
        return self.disbanded_at is None

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class TeamMember(Timestamped, Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class TeamInvite(Timestamped, Base):
    __tablename__ = "team_invites"
    # At most one pending invitation per player and team.
    __table_args__ = (
        Index("uq_team_invites_pending", "team_id", "user_id", unique=True,
              sqlite_where=text("status = 'PENDING'"),
              postgresql_where=text("status = 'PENDING'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[InviteStatus] = mapped_column(
        Enum(InviteStatus, native_enum=False, length=16, create_constraint=True),
        default=InviteStatus.PENDING,
    )
    responded_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])


