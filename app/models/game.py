"""Games that tournaments are played in."""

from __future__ import annotations

from sqlalchemy import JSON, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamped

# The lobby fields a game's matches may carry, in display order.
LOBBY_FIELDS = {
    "room_code": "Room code",
    "password": "Password",
    "region": "Region",
    "map": "Map",
    "server": "Server",
}


class Game(Timestamped, Base):
    __tablename__ = "games"
    __table_args__ = (Index("uq_games_lower_name", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    team_size: Mapped[int] = mapped_column(default=1)
    lobby_fields: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<Game {self.name}>"
