"""Fixtures shared by the registration, check-in and registration page tests."""

from __future__ import annotations

import pytest

from app.models import Game
from tests.conftest import save


@pytest.fixture
def duel(app) -> Game:
    """A one-against-one game, for solo tournaments."""
    game = Game(name="Duel Chess", team_size=1, lobby_fields=[])
    save(game)
    return game
