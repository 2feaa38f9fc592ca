"""Keys that make a create form safe to submit twice."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped


class RequestKey(Timestamped, Base):
    """A form's one-time key and what its first submission created."""

    __tablename__ = "request_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int]
